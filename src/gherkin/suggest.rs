//! What to say about a step that matches no phrase: the AWS enum value it
//! misspelt, or else the closest phrase.

use super::catalog::catalog;
use strsim::levenshtein as distance;

/// A `help:` text for an undefined step, if anything comes close.
pub(crate) fn help(text: &str) -> Option<String> {
    misspelt_value(text).or_else(|| closest_phrase(text))
}

/// The step has the shape of a phrase but one of its AWS enum values is not
/// one: `` `CONECTED` is not a ConnectionState; did you mean `CONNECTED`? ``.
fn misspelt_value(text: &str) -> Option<String> {
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
            return Some(match closest(given, &values) {
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
            });
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
        .map(|p| (distance(&shape, &without_arguments(p.pattern)), p))
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

/// The value closest to `word` by edit distance (case-insensitive), if it
/// is close enough to be a typo.
pub(crate) fn closest<'a>(word: &str, values: &[&'a str]) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    let lower = word.to_lowercase();
    values
        .iter()
        .map(|v| (distance(&lower, &v.to_lowercase()), *v))
        .filter(|(d, v)| *d <= limit || v.to_lowercase().starts_with(&lower))
        .min_by_key(|(d, _)| *d)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspelt_values_and_phrases_get_help() {
        assert_eq!(
            help("the ConnectionErrorCode is USER_LOCKED").as_deref(),
            Some("`USER_LOCKED` is not a ConnectionErrorCode; did you mean `USER_LOCKED_OUT`?")
        );
        assert_eq!(
            help(r#"I conect the custom key store "ExampleKeyStore""#).as_deref(),
            Some(r#"the closest phrase is `I connect the custom key store "S"`"#)
        );
        assert_eq!(
            help("the moon is made of cheese and other things entirely"),
            None
        );
    }
}
