//! The one step catalog: every phrase of [`super::phrases`] compiled into
//! the regexes cucumber matches steps with (`docs/gherkin-steps.md`).
//! Both ways of running a feature (cucumber, through `drill.rs`,
//! and `hsmdrill run`, through `lower.rs`) match steps against
//! these and nothing else.

use std::sync::LazyLock;

use regex::Regex;

use super::params;
use super::phrase::Phrase;
use super::phrases::entries;

/// Every phrase, in the order of the documentation.
pub fn catalog() -> &'static [Phrase] {
    &CATALOG
}

static CATALOG: LazyLock<Vec<Phrase>> = LazyLock::new(|| {
    entries()
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
}
