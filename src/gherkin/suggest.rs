//! What to say about a step that matches no phrase: the AWS enum value it
//! misspelt (and where), or else the closest phrase.

use super::catalog::catalog;
use crate::dsl::words::closest;

/// A `help:` text for an undefined step, and the bytes of the text it is
/// about (the misspelt value), if anything comes close.
pub(crate) fn help(text: &str) -> Option<(String, Option<(usize, usize)>)> {
    misspelt_value(text).or_else(|| closest_phrase(text).map(|h| (h, None)))
}

/// The step has the shape of a phrase but one of its AWS enum values is not
/// one: `` `CONECTED` is not a ConnectionState; did you mean `CONNECTED`? ``.
fn misspelt_value(text: &str) -> Option<(String, Option<(usize, usize)>)> {
    for phrase in catalog() {
        let Some(caps) = phrase.loose.captures(text) else {
            continue;
        };
        for (param, m) in phrase.params.iter().zip(caps.iter().skip(1)) {
            let (Some((what, values)), Some(m)) = (param.values(), m) else {
                continue;
            };
            let given = m.as_str();
            if values.contains(&given) {
                continue;
            }
            let article = if what.starts_with(['a', 'e', 'i', 'o', 'u']) {
                "an"
            } else {
                "a"
            };
            let lower = given.to_lowercase();
            let suggestion = closest(given, values.iter().copied()).or_else(|| {
                values
                    .iter()
                    .copied()
                    .find(|v| v.to_lowercase().starts_with(&lower))
            });
            let help = match suggestion {
                Some(s) => format!("`{given}` is not {article} {what}; did you mean `{s}`?"),
                None => format!(
                    "`{given}` is not {article} {what}; it is one of {}",
                    values
                        .iter()
                        .take(12)
                        .map(|v| format!("`{v}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                        + if values.len() > 12 { ", …" } else { "" }
                ),
            };
            return Some((help, Some((m.start(), m.end()))));
        }
    }
    None
}

/// The phrase whose human form is nearest the step's text (arguments in
/// quotes set aside).
fn closest_phrase(text: &str) -> Option<String> {
    let shape = without_arguments(text);
    let (d, phrase) = catalog()
        .iter()
        .map(|p| {
            let d = strsim::levenshtein(&shape, &without_arguments(p.pattern));
            (d, p)
        })
        .min_by_key(|(d, _)| *d)?;
    (d <= shape.chars().count() / 2 + 2)
        .then(|| format!("the closest phrase is `{}`", phrase.pattern))
}

/// `I connect the custom key store "X"` → `I connect the custom key store ""`.
fn without_arguments(text: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in text.chars() {
        if c == '"' {
            inside = !inside;
            out.push(c);
        } else if !inside {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(text: &str) -> Option<String> {
        help(text).map(|(h, _)| h)
    }

    #[test]
    fn misspelt_values_and_phrases_get_help() {
        assert_eq!(
            help("the ConnectionErrorCode is USER_LOCKED"),
            Some((
                "`USER_LOCKED` is not a ConnectionErrorCode; did you mean `USER_LOCKED_OUT`?"
                    .to_owned(),
                Some((27, 38))
            ))
        );
        assert_eq!(
            text(r#"I conect the custom key store "ExampleKeyStore""#).as_deref(),
            Some(r#"the closest phrase is `I connect the custom key store "S"`"#)
        );
        assert_eq!(
            text("the moon is made of cheese and other things entirely"),
            None
        );
    }
}
