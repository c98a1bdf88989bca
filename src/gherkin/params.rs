//! The placeholders of a phrase and the regular expression each one stands
//! for.
//!
//! A phrase is written in its human form (`the ConnectionState of "S" is
//! {STATE}`); [`compile`] turns it into an anchored regex, one capture group
//! per placeholder. The AWS enum placeholders are alternations of the
//! engine's own lists (`ConnectionState::NAMES`, `ConnectionErrorCode::ALL`,
//! `KeyState::NAMES`, `ErrorKind::ALL`, `Operation::ALL`), so a misspelt
//! value matches no phrase and the step is undefined, never a silent
//! mismatch.

use crate::engine::cloud;
use crate::engine::dispatch::Operation;
use crate::engine::error::ErrorKind;
use crate::engine::kms::key::KeyState;
use crate::engine::kms::keystore::{ConnectionErrorCode, ConnectionState};

/// What one placeholder of a phrase accepts.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Param {
    /// `"…"`: any text, a double quote in it written `\"` and a backslash
    /// before one (or at the end) `\\` ([`unquote`] takes them out).
    Quoted,
    /// `"PATH"`: a path as in the runbook language, without the leading dot;
    /// a quoted member follows a dot (`SubnetMapping."us-west-2a"`).
    Path,
    /// `{n}`, `{m}`: a whole number.
    Count,
    /// `{unit}`: a unit of time, as the runbook language spells them.
    Unit,
    /// `{STATE}`: a `ConnectionState`.
    State,
    /// `{CODE}`: a `ConnectionErrorCode`.
    Code,
    /// `{KEYSTATE}`: a KMS `KeyState`.
    KeyState,
    /// `{Exception}`: an AWS exception name.
    Exception,
    /// `{Operation}`: a KMS or CloudHSM v2 operation name.
    Operation,
    /// `{Event}`: a CloudTrail `eventName` (any word).
    Event,
    /// `{STATUS}`: an upper-case word (`SUCCESS`, `FAILURE`).
    Status,
    /// `PHRASE`: another phrase, to the end of the step.
    Phrase,
}

impl Param {
    /// The values an enum placeholder accepts, and what they are called
    /// (for "did you mean"); `None` for the others.
    pub(crate) fn values(self) -> Option<(&'static str, Vec<&'static str>)> {
        match self {
            Param::State => Some(("ConnectionState", ConnectionState::NAMES.to_vec())),
            Param::Code => Some((
                "ConnectionErrorCode",
                ConnectionErrorCode::ALL
                    .iter()
                    .map(|c| c.as_str())
                    .collect(),
            )),
            Param::KeyState => Some(("KeyState", KeyState::NAMES.to_vec())),
            Param::Exception => Some((
                "exception",
                ErrorKind::ALL.iter().map(|k| k.aws_name()).collect(),
            )),
            Param::Operation => Some((
                "operation",
                Operation::ALL
                    .iter()
                    .map(|o| o.name())
                    .chain(cloud::OPERATIONS.iter().map(|(name, _)| *name))
                    .collect(),
            )),
            Param::Quoted
            | Param::Path
            | Param::Count
            | Param::Unit
            | Param::Event
            | Param::Status
            | Param::Phrase => None,
        }
    }

    /// The capture group, strict (`loose: false`) or with enum values
    /// relaxed to any word (to explain a near miss).
    fn group(self, loose: bool) -> String {
        match (self, self.values()) {
            (_, Some(_)) if loose => r"(\S+)".to_owned(),
            (_, Some((_, mut values))) => {
                // Longest first, so no value is cut short by a prefix.
                values.sort_by_key(|v| std::cmp::Reverse(v.len()));
                let alternatives: Vec<String> = values.iter().map(|v| regex::escape(v)).collect();
                format!("({})", alternatives.join("|"))
            }
            (Param::Quoted, None) => r#""((?:[^"\\]|\\.)*)""#.to_owned(),
            (Param::Path, None) => r#""((?:[^"\s]|\."[^"]*")+)""#.to_owned(),
            (Param::Count, None) => r"(\d+)".to_owned(),
            (Param::Unit, None) => format!("({})", UNITS.join("|")),
            (Param::Event, None) => r"([A-Za-z][A-Za-z0-9]*)".to_owned(),
            (Param::Status, None) => r"([A-Z][A-Z_]*)".to_owned(),
            (Param::Phrase, None) => r"(.+)".to_owned(),
            (
                Param::State | Param::Code | Param::KeyState | Param::Exception | Param::Operation,
                None,
            ) => r"(\S+)".to_owned(),
        }
    }
}

/// The text of a quoted argument as the regex captured it, with `\"` and
/// `\\` unescaped; any other backslash stays as written (`"C:\dir"`).
pub(crate) fn unquote(captured: &str) -> std::borrow::Cow<'_, str> {
    if !captured.contains('\\') {
        return captured.into();
    }
    let mut out = String::with_capacity(captured.len());
    let mut chars = captured.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(e @ ('"' | '\\')) => out.push(e),
                Some(other) => {
                    out.push(c);
                    out.push(other);
                }
                None => out.push(c),
            }
        } else {
            out.push(c);
        }
    }
    out.into()
}

/// Units of time, longest first, as `wait` and `retry … every` accept them.
const UNITS: &[&str] = &[
    "milliseconds",
    "millisecond",
    "seconds",
    "second",
    "minutes",
    "minute",
    "hours",
    "hour",
    "days",
    "day",
    "secs",
    "sec",
    "mins",
    "min",
    "ms",
    "s",
    "m",
    "h",
    "d",
];

/// A phrase's human form compiled: the regex source, strict and loose, and
/// the placeholder of each capture group.
pub(crate) struct Compiled {
    pub strict: String,
    pub loose: String,
    pub params: Vec<Param>,
}

/// Compiles a human form: `"X"` is a quoted argument (`"PATH"` a path),
/// `{n}` `{m}` a number, `{unit}` a unit of time, `{STATE}` `{CODE}`
/// `{KEYSTATE}` `{Exception}` `{Operation}` `{Event}` `{STATUS}` what their
/// names say, a final `PHRASE` another phrase; the rest is literal.
pub(crate) fn compile(human: &str) -> Compiled {
    let mut strict = String::from("^");
    let mut loose = String::from("^");
    let mut params = Vec::new();
    let mut literal = String::new();
    let mut rest = human;
    while !rest.is_empty() {
        let found = placeholder(rest);
        match found {
            Some((param, len)) => {
                strict.push_str(&regex::escape(&literal));
                loose.push_str(&regex::escape(&literal));
                literal.clear();
                strict.push_str(&param.group(false));
                loose.push_str(&param.group(true));
                params.push(param);
                rest = rest.get(len..).unwrap_or("");
            }
            None => {
                let mut chars = rest.chars();
                if let Some(c) = chars.next() {
                    literal.push(c);
                }
                rest = chars.as_str();
            }
        }
    }
    strict.push_str(&regex::escape(&literal));
    loose.push_str(&regex::escape(&literal));
    strict.push('$');
    loose.push('$');
    Compiled {
        strict,
        loose,
        params,
    }
}

/// The placeholder at the start of `text`, and its length in bytes.
fn placeholder(text: &str) -> Option<(Param, usize)> {
    const BRACED: &[(&str, Param)] = &[
        ("{n}", Param::Count),
        ("{m}", Param::Count),
        ("{unit}", Param::Unit),
        ("{STATE}", Param::State),
        ("{CODE}", Param::Code),
        ("{KEYSTATE}", Param::KeyState),
        ("{Exception}", Param::Exception),
        ("{Operation}", Param::Operation),
        ("{Event}", Param::Event),
        ("{STATUS}", Param::Status),
    ];
    if let Some((word, param)) = BRACED.iter().find(|(w, _)| text.starts_with(w)) {
        return Some((*param, word.len()));
    }
    if text == "PHRASE" {
        return Some((Param::Phrase, text.len()));
    }
    let inner = text.strip_prefix('"')?;
    let end = inner.find('"')?;
    let name = inner.get(..end)?;
    let param = if name == "PATH" {
        Param::Path
    } else {
        Param::Quoted
    };
    Some((param, end + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_forms_become_anchored_regexes() {
        let c = compile(r#"the ConnectionState of "S" is {STATE}"#);
        assert_eq!(c.params, vec![Param::Quoted, Param::State]);
        assert!(c
            .strict
            .starts_with(r#"^the ConnectionState of "((?:[^"\\]|\\.)*)" is ("#));
        assert!(c.strict.contains("DISCONNECTING|"), "{}", c.strict);
        assert!(c.loose.ends_with(r"is (\S+)$"), "{}", c.loose);
        let c = compile(r#"I remember "PATH" of the response as "NAME""#);
        assert_eq!(c.params, vec![Param::Path, Param::Quoted]);
        let c = compile("I repeat {n} times: PHRASE");
        assert_eq!(c.strict, r"^I repeat (\d+) times: (.+)$");
        let c = compile("the PKCS #11 sessions of cluster \"C\" are exhausted");
        assert!(c.strict.contains(r"PKCS \#11"), "{}", c.strict);
    }

    #[test]
    fn quoted_arguments_take_escaped_quotes_and_backslashes() {
        let re = regex::Regex::new(&compile(r#"I run "COMMAND" on "C""#).strict).unwrap();
        let caps = |text: &str| {
            re.captures(text).map(|c| {
                c.iter()
                    .skip(1)
                    .map(|m| unquote(m.map_or("", |m| m.as_str())).into_owned())
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(
            caps(r#"I run "say \"hi\"" on "c""#),
            Some(vec![r#"say "hi""#.to_owned(), "c".to_owned()])
        );
        assert_eq!(
            caps(r#"I run "a\\" on "c\d""#),
            Some(vec![r"a\".to_owned(), r"c\d".to_owned()])
        );
        assert_eq!(caps(r#"I run "a\" on "c""#), None);
        assert_eq!(caps(r#"I run "a"b" on "c""#), None);
        assert_eq!(unquote(r"end\"), r"end\");
    }
}
