//! Writing runbook-language text from a phrase's arguments: strings with
//! escapes, names as bare words or quoted, values typed as the runbook
//! language would type them, paths with their leading dot.
//!
//! Everything a phrase stands for is written through these functions, so a
//! `.feature` argument and the same text written in a `.runbook` lower to
//! the same IR.

/// A runbook string literal: `"…"` with `\\ \" \n \r \t` escaped.
pub(crate) fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A key store, cluster, HSM, subnet or session name: bare when the
/// runbook grammar takes it bare (a `$variable` as written), else quoted.
pub(crate) fn name(text: &str) -> String {
    if is_variable(text) || is_bare_name(text) {
        text.to_owned()
    } else {
        string(text)
    }
}

/// A key (id, ARN, alias or `$variable`): bare when the grammar takes it
/// bare, else quoted.
pub(crate) fn key(text: &str) -> String {
    let bare = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | ':'));
    if is_variable(text) || bare {
        text.to_owned()
    } else {
        string(text)
    }
}

/// A store as the subject of `expect`/`capture` (`S.Path`): a name that is
/// also a keyword of the language is quoted.
pub(crate) fn subject_store(text: &str) -> String {
    const KEYWORDS: &[&str] = &["key", "trail", "ok", "error", "cli", "decrypt"];
    if KEYWORDS.contains(&text) {
        string(text)
    } else {
        name(text)
    }
}

/// The `CustomKeyStoreId` the runbook's `connect S` would send: an id or a
/// variable as written, otherwise the variable the runner binds to the
/// store's name (`$ExampleKeyStore`).
pub(crate) fn store_id(store: &str) -> String {
    if store.starts_with("cks-") || store.contains('$') {
        string(store)
    } else if store.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        format!("${store}")
    } else {
        format!("${{{store}}}")
    }
}

/// A value as the runbook language types it: a `$variable`, a number,
/// `true`, `false`, `null`, a `[list]` or an `{object}` as written;
/// anything else a string.
pub(crate) fn value(text: &str) -> String {
    let t = text.trim();
    if is_variable(t)
        || is_number(t)
        || matches!(t, "true" | "false" | "null")
        || t.starts_with('[')
        || t.starts_with('{')
    {
        t.to_owned()
    } else {
        string(text)
    }
}

/// An object member name: bare when it is a plain word, else quoted.
pub(crate) fn member(text: &str) -> String {
    let t = text.trim();
    if !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        t.to_owned()
    } else {
        string(t)
    }
}

/// A path with its leading dot (`KeyMetadata.KeyState` → `.KeyMetadata.KeyState`).
pub(crate) fn path(text: &str) -> String {
    let t = text.trim();
    if t.starts_with('.') || t.starts_with('[') {
        t.to_owned()
    } else {
        format!(".{t}")
    }
}

/// A ciphertext: a `$variable` as written, else a base64 string.
pub(crate) fn ciphertext(text: &str) -> String {
    if is_variable(text) {
        text.to_owned()
    } else {
        string(text)
    }
}

/// A variable to define (`-> name`, `capture name`): without a leading `$`.
pub(crate) fn var_name(text: &str) -> String {
    text.trim().trim_start_matches('$').to_owned()
}

/// `$name` or `${…}`, the whole text.
fn is_variable(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('$') else {
        return false;
    };
    if let Some(inner) = rest.strip_prefix('{') {
        return inner.len() > 1 && inner.ends_with('}') && !inner[..inner.len() - 1].contains('}');
    }
    let mut chars = rest.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// What the runbook grammar's `name` takes: letters, digits, `_`, `-`.
fn is_bare_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
}

/// A JSON number (`42`, `-1.5`, `1e3`).
fn is_number(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    digits.starts_with(|c: char| c.is_ascii_digit())
        && serde_json::from_str::<serde_json::Number>(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_typed_like_the_runbook_language() {
        assert_eq!(value("$b"), "$b");
        assert_eq!(value("${x y}"), "${x y}");
        assert_eq!(value("0"), "0");
        assert_eq!(value("-1.5"), "-1.5");
        assert_eq!(value("true"), "true");
        assert_eq!(value("[]"), "[]");
        assert_eq!(value("READY"), "\"READY\"");
        assert_eq!(
            value("Key deleted successfully"),
            "\"Key deleted successfully\""
        );
        assert_eq!(value("0x${b}"), "\"0x${b}\"");
        assert_eq!(string("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
    }

    #[test]
    fn names_are_bare_when_the_grammar_allows() {
        assert_eq!(name("ExampleKeyStore"), "ExampleKeyStore");
        assert_eq!(name("$newCluster"), "$newCluster");
        assert_eq!(name("my store"), "\"my store\"");
        assert_eq!(key("alias/app"), "alias/app");
        assert_eq!(subject_store("key"), "\"key\"");
        assert_eq!(store_id("ExampleKeyStore"), "$ExampleKeyStore");
        assert_eq!(store_id("cks-1234"), "\"cks-1234\"");
        assert_eq!(store_id("my-store"), "${my-store}");
        assert_eq!(path("Clusters[0].State"), ".Clusters[0].State");
        assert_eq!(path("[0]"), "[0]");
        assert_eq!(member("odd key"), "\"odd key\"");
    }
}
