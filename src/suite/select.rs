//! Which scenarios a run takes: the `--tag` expression, then the
//! `--partition K/N` slice.

use std::str::FromStr;

use super::{Loaded, SuiteError, TagExpr};
use crate::remote::Endpoint;

/// `--partition K/N`: the K-th (1-based) of N slices of the selected
/// scenarios, taking every N-th one (`index % N == K - 1`).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Partition {
    /// K, 1-based.
    pub index: usize,
    /// N.
    pub count: usize,
}

impl Partition {
    /// Whether the `i`-th (0-based) selected scenario is in this slice.
    pub fn holds(&self, i: usize) -> bool {
        i % self.count == self.index - 1
    }
}

impl FromStr for Partition {
    type Err = SuiteError;

    fn from_str(text: &str) -> Result<Self, SuiteError> {
        let error = |problem: &str| SuiteError::Partition {
            text: text.to_owned(),
            problem: problem.to_owned(),
        };
        let (k, n) = text.split_once('/').ok_or_else(|| error("expected K/N"))?;
        let k: usize = k
            .trim()
            .parse()
            .map_err(|_| error("K is not a whole number"))?;
        let n: usize = n
            .trim()
            .parse()
            .map_err(|_| error("N is not a whole number"))?;
        if n == 0 {
            return Err(error("N must be at least 1"));
        }
        if k == 0 || k > n {
            return Err(error("K must be between 1 and N"));
        }
        Ok(Partition { index: k, count: n })
    }
}

/// How to select and run scenarios.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--tag`: the expression as written, and parsed.
    pub tags: Option<(String, TagExpr)>,
    /// `--partition K/N`.
    pub partition: Option<Partition>,
    /// `--accept`: write new and changed snapshots.
    pub accept: bool,
    /// `--endpoint`: run against this `hsmdrill serve` instead of an
    /// embedded engine.
    pub endpoint: Option<Endpoint>,
}

impl Options {
    /// Options from the command line's texts, checked.
    pub fn new(
        tags: Option<&str>,
        partition: Option<&str>,
        accept: bool,
    ) -> Result<Options, SuiteError> {
        Ok(Options {
            tags: tags
                .map(|t| TagExpr::parse(t).map(|e| (t.to_owned(), e)))
                .transpose()?,
            partition: partition.map(str::parse).transpose()?,
            accept,
            endpoint: None,
        })
    }

    /// The same options, running against a server.
    pub fn with_endpoint(mut self, endpoint: Endpoint) -> Options {
        self.endpoint = Some(endpoint);
        self
    }
}

/// One selected item: a scenario of a file, or a file that does not parse
/// (`scenario: None`), which a run reports as one failure.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Selected {
    /// Index into the loaded files.
    pub file: usize,
    /// Index of the scenario in its file.
    pub scenario: Option<usize>,
}

/// The scenarios to run, in order (file, then position): those the tag
/// expression selects, then the partition's slice of them. A file that does
/// not parse is always selected (its tags are unknown) and takes one place
/// in the order.
///
/// When every file parses, a tag expression that selects no scenario, or
/// that asks for a tag no scenario has (outside a `not`), is an error: it
/// is almost always a typo, and a run of nothing would pass.
pub fn select(files: &[Loaded], options: &Options) -> Result<Vec<Selected>, SuiteError> {
    let mut all = Vec::new();
    for (f, file) in files.iter().enumerate() {
        match &file.parsed {
            Ok(parsed) => {
                for (s, scenario) in parsed.scenarios.iter().enumerate() {
                    let keep = options
                        .tags
                        .as_ref()
                        .is_none_or(|(_, e)| e.matches(&scenario.tags));
                    if keep {
                        all.push(Selected {
                            file: f,
                            scenario: Some(s),
                        });
                    }
                }
            }
            Err(_) => all.push(Selected {
                file: f,
                scenario: None,
            }),
        }
    }
    if let Some((text, expr)) = &options.tags {
        let all_parse = files.iter().all(|f| f.parsed.is_ok());
        let has = |tag: &str| {
            files.iter().any(|f| {
                f.parsed
                    .as_ref()
                    .is_ok_and(|p| p.scenarios.iter().any(|s| s.tags.iter().any(|t| t == tag)))
            })
        };
        let unknown: Vec<String> = expr
            .wanted_tags()
            .into_iter()
            .filter(|t| !has(t))
            .map(str::to_owned)
            .collect();
        if all_parse && (all.is_empty() || !unknown.is_empty()) {
            return Err(SuiteError::NoMatch {
                expression: text.clone(),
                unknown,
            });
        }
    }
    if let Some(p) = options.partition {
        all = all
            .into_iter()
            .enumerate()
            .filter(|(i, _)| p.holds(*i))
            .map(|(_, s)| s)
            .collect();
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_take_every_nth() {
        let p: Partition = "2/3".parse().unwrap();
        let picked: Vec<usize> = (0..8).filter(|i| p.holds(*i)).collect();
        assert_eq!(picked, vec![1, 4, 7]);
        for bad in ["3/2", "0/2", "1/0", "a/2", "2", "1/b", ""] {
            let e = bad.parse::<Partition>().unwrap_err();
            assert!(e.to_string().starts_with("bad --partition"), "{bad}: {e}");
        }
    }
}
