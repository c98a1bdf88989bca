//! The one step catalog: every Gherkin phrase, the regex cucumber matches
//! it with, and the runbook-language statements it stands for
//! (`docs/gherkin-steps.md`).
//!
//! [`translate`] is the whole of what a phrase does: it turns a step's text
//! (and its data table or doc string) into runbook statements, which the
//! runbook front end then parses, checks and lowers. Both ways of running a
//! feature (cucumber, through [`super::cucumber`], and `hsmdrill run`, through
//! [`super::lower_file`]) get their IR from here and nowhere else.

use std::borrow::Cow;
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

use super::params::{self, Param};
use super::phrases::{Takes, ENTRIES};
use super::suggest;

/// One phrase of the catalog.
#[derive(Clone, Debug)]
pub struct Phrase {
    /// Its human form, as `hsmdrill steps` and `docs/gherkin-steps.md` show
    /// it: `"S"` is a double-quoted argument, `{n}` a whole number, `{STATE}`
    /// an AWS enum value, and so on.
    pub pattern: &'static str,
    /// The anchored regex cucumber matches a step's text (without its
    /// keyword) against, one capture group per placeholder.
    pub regex: Regex,
    /// The runbook statement(s) it stands for, and what it takes besides its
    /// text (a data table, a doc string).
    pub help: &'static str,
    /// A step it matches, for the documentation and the tests.
    pub example: &'static str,
    /// The regex with enum placeholders relaxed to any word, to explain why
    /// a step with a misspelt value matches nothing.
    pub(crate) loose: Regex,
    /// The placeholder of each capture group.
    pub(crate) params: Vec<Param>,
    /// What the step may carry besides its text.
    pub(crate) takes: Takes,
    /// Writes the statements.
    pub(crate) build: super::phrases::Build,
}

/// Every phrase, in the order of the documentation.
pub fn catalog() -> &'static [Phrase] {
    &CATALOG
}

static CATALOG: LazyLock<Vec<Phrase>> = LazyLock::new(|| {
    ENTRIES
        .iter()
        .map(|e| {
            let compiled = params::compile(e.pattern);
            Phrase {
                pattern: e.pattern,
                regex: compile_regex(&compiled.strict),
                help: e.help,
                example: e.example,
                loose: compile_regex(&compiled.loose),
                params: compiled.params,
                takes: e.takes,
                build: e.build,
            }
        })
        .collect()
});

#[expect(
    clippy::expect_used,
    reason = "the regex is built from escaped literals and fixed groups; a unit test compiles every phrase"
)]
fn compile_regex(source: &str) -> Regex {
    Regex::new(source).expect("a phrase compiles to a valid regex")
}

/// Why a step could not be translated.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum TranslateError {
    /// No phrase matches the text: the step is undefined.
    Undefined {
        /// What the author probably meant (`did you mean …`), if anything
        /// comes close.
        help: Option<String>,
    },
    /// A phrase matches, but what it was given does not fit it (a missing
    /// doc string, a table with three columns, no key store named yet).
    Invalid {
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for TranslateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TranslateError::Undefined { help: None } => f.write_str("no step matches"),
            TranslateError::Undefined { help: Some(h) } => write!(f, "no step matches ({h})"),
            TranslateError::Invalid { message } => f.write_str(message),
        }
    }
}

impl std::error::Error for TranslateError {}

/// The arguments a phrase's builder gets.
pub(crate) struct Args<'a> {
    /// The capture groups, in order (quoted ones unescaped).
    pub caps: Vec<Cow<'a, str>>,
    /// The step's data table, if any.
    pub table: Option<&'a [Vec<String>]>,
    /// The step's doc string, if any.
    pub docstring: Option<&'a str>,
    /// The key store named last in the scenario.
    pub store: &'a mut Option<String>,
}

impl Args<'_> {
    /// The `i`-th capture (empty if there is none).
    pub fn arg(&self, i: usize) -> &str {
        self.caps.get(i).map_or("", |c| c.as_ref())
    }

    /// The `i`-th capture, a key store name, which becomes the store named
    /// last.
    pub fn store_arg(&mut self, i: usize) -> String {
        let s = self.arg(i).to_owned();
        *self.store = Some(s.clone());
        s
    }

    /// The key store named last, for phrases that omit it.
    pub fn current_store(&self) -> Result<String, String> {
        self.store.clone().ok_or_else(|| {
            "no key store is named before this step; name it, e.g. \
             `the ConnectionState of \"ExampleKeyStore\" is CONNECTED`"
                .to_owned()
        })
    }
}

/// Translates one step into the runbook statements it stands for (each a
/// string, a statement that spans lines holding newlines). `text` is the
/// step without its keyword; `table` and `docstring` what the step
/// carries; `store` the key store named last in the scenario, which the
/// step may change.
///
/// ```
/// use hsmdrill::gherkin::translate;
///
/// let mut store = None;
/// let s = translate(r#"I connect the custom key store "ExampleKeyStore""#, None, None, &mut store).unwrap();
/// assert_eq!(s, vec!["connect ExampleKeyStore"]);
/// let s = translate("the ConnectionState is CONNECTED", None, None, &mut store).unwrap();
/// assert_eq!(s, vec!["expect ExampleKeyStore.ConnectionState == CONNECTED"]);
/// assert!(translate("the ConnectionState is CONECTED", None, None, &mut store).is_err());
/// ```
pub fn translate(
    text: &str,
    table: Option<&[Vec<String>]>,
    docstring: Option<&str>,
    store: &mut Option<String>,
) -> Result<Vec<String>, TranslateError> {
    let text = text.trim();
    let found = catalog()
        .iter()
        .find_map(|p| p.regex.captures(text).map(|c| (p, c)));
    let Some((phrase, captures)) = found else {
        return Err(TranslateError::Undefined {
            help: suggest::help(text),
        });
    };
    let invalid = |message: String| TranslateError::Invalid { message };
    phrase
        .takes
        .check(phrase.pattern, table.is_some(), docstring.is_some())
        .map_err(invalid)?;
    let mut args = Args {
        caps: captures
            .iter()
            .skip(1)
            .zip(&phrase.params)
            .map(|(m, param)| {
                let text = m.map_or("", |m| m.as_str());
                if *param == Param::Quoted {
                    params::unquote(text)
                } else {
                    text.into()
                }
            })
            .collect(),
        table,
        docstring,
        store,
    };
    (phrase.build)(&mut args).map_err(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phrase_compiles_and_matches_its_example_alone() {
        let all = catalog();
        assert!(all.len() > 60, "{}", all.len());
        for p in all {
            let matching: Vec<&str> = all
                .iter()
                .filter(|q| q.regex.is_match(p.example))
                .map(|q| q.pattern)
                .collect();
            assert_eq!(
                matching,
                vec![p.pattern],
                "the example `{}` must match its phrase and no other",
                p.example
            );
        }
    }

    #[test]
    fn misspelt_enum_values_are_undefined_with_a_suggestion() {
        let mut store = Some("ExampleKeyStore".to_owned());
        let e = translate("the ConnectionState is CONECTED", None, None, &mut store).unwrap_err();
        assert_eq!(
            e,
            TranslateError::Undefined {
                help: Some("`CONECTED` is not a ConnectionState; did you mean `CONNECTED`?".into())
            }
        );
        let e = translate("it fails with KMSInvalidState", None, None, &mut store).unwrap_err();
        assert!(e.to_string().contains("KMSInvalidStateException"), "{e}");
    }

    #[test]
    fn phrases_without_a_store_use_the_last_one_named() {
        let mut store = None;
        let e = translate("the ConnectionState is FAILED", None, None, &mut store).unwrap_err();
        assert!(e.to_string().contains("no key store is named"), "{e}");
        translate(
            r#"I disconnect the custom key store "Other""#,
            None,
            None,
            &mut store,
        )
        .unwrap();
        assert_eq!(
            translate("there is no ConnectionErrorCode", None, None, &mut store).unwrap(),
            vec!["expect Other.ConnectionErrorCode is absent"]
        );
    }
}
