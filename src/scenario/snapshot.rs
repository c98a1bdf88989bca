//! Snapshots of every DescribeCustomKeyStores response a scenario caused.
//!
//! One snapshot per scenario, beside its file:
//! `<dir>/snapshots/<file stem>__<scenario slug>.snap`, in insta's format so
//! `cargo insta review` works on them. The content lists each response under
//! the step that caused it, pretty-printed as `aws kms
//! describe-custom-key-stores` prints JSON (four spaces). Steps are written
//! from the IR (`expect ExampleKeyStore.ConnectionState == FAILED`), not from
//! the source, so a `.runbook` and a `.feature` that do the same thing give
//! the same bytes, however the runner was invoked; ids and dates come from
//! the seeded, virtual-clock engine, so the same scenario gives the same
//! bytes every run.
//!
//! `cargo test` asserts them with insta ([`assert_with_insta`]); `hsmdrill
//! run` compares them itself ([`check`]) and writes them on `--accept`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::outcome::Outcome;

/// The snapshot's name: `<file stem>__<scenario slug>`.
pub fn name(file: &Path, scenario: &str) -> String {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{stem}__{}", slug(scenario))
}

/// `kmsuser locked out: repair` → `kmsuser-locked-out-repair`.
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// The folder of a scenario file's snapshots.
pub fn dir(file: &Path) -> PathBuf {
    file.parent()
        .unwrap_or_else(|| Path::new("."))
        .join("snapshots")
}

/// Where a scenario's snapshot lives.
pub fn path(file: &Path, scenario: &str) -> PathBuf {
    dir(file).join(format!("{}.snap", name(file, scenario)))
}

/// The snapshot content of an outcome.
pub fn render(outcome: &Outcome) -> String {
    let mut out = String::new();
    for r in &outcome.describes {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!("# {}\n", r.canonical));
        match &r.response {
            Ok(v) => {
                out.push_str(&aws_cli_json(v));
                out.push('\n');
            }
            Err((name, message)) => out.push_str(&format!("{name}: {message}\n")),
        }
    }
    out
}

/// JSON as the aws CLI prints it: four-space indentation.
pub fn aws_cli_json(v: &Value) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    match v.serialize(&mut ser) {
        Ok(()) => String::from_utf8_lossy(&buf).into_owned(),
        Err(_) => v.to_string(),
    }
}

/// How a snapshot compared.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Check {
    /// Same content.
    Matches,
    /// Written (new, or accepted).
    Written,
    /// No snapshot yet (run with `--accept`).
    Missing,
    /// Different content; a unified diff, old to new.
    Differs(String),
}

/// Compares an outcome with its stored snapshot; with `accept`, writes it
/// when it is new or different.
pub fn check(outcome: &Outcome, file: &Path, accept: bool) -> io::Result<Check> {
    let content = render(outcome);
    let target = path(file, &outcome.scenario);
    let stored = match fs::read_to_string(&target) {
        Ok(text) => Some(contents_of(&text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let same = stored
        .as_deref()
        .is_some_and(|s| s.trim_end() == content.trim_end());
    if same {
        return Ok(Check::Matches);
    }
    if accept {
        write(&target, file, &outcome.scenario, &content)?;
        return Ok(Check::Written);
    }
    Ok(match stored {
        None => Check::Missing,
        Some(old) => Check::Differs(
            similar::TextDiff::from_lines(old.trim_end(), content.trim_end())
                .unified_diff()
                .context_radius(3)
                .header("snapshot", "this run")
                .to_string(),
        ),
    })
}

/// The content of a `.snap` file (after its `---` header).
fn contents_of(text: &str) -> String {
    let mut parts = text.splitn(3, "---\n");
    match (parts.next(), parts.next(), parts.next()) {
        (Some(""), Some(_header), Some(body)) => body.to_owned(),
        _ => text.to_owned(),
    }
}

fn write(target: &Path, file: &Path, scenario: &str, content: &str) -> io::Result<()> {
    if let Some(d) = target.parent() {
        fs::create_dir_all(d)?;
    }
    let header = format!(
        "---\nsource: {}\nexpression: {}\n---\n",
        serde_json::to_string(&file.display().to_string()).unwrap_or_default(),
        serde_json::to_string(scenario).unwrap_or_default(),
    );
    fs::write(target, format!("{header}{}\n", content.trim_end()))
}

/// Asserts an outcome's snapshot with insta (for `cargo test`): a change
/// fails the test and leaves a `.snap.new` for `cargo insta review`.
pub fn assert_with_insta(outcome: &Outcome, file: &Path) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(absolute(&dir(file)));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_input_file(file);
    let content = render(outcome);
    let name = name(file, &outcome.scenario);
    settings.bind(|| {
        insta::assert_snapshot!(name, content);
    });
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_owned()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_stable_and_readable() {
        assert_eq!(
            slug("kmsuser locked out: repair"),
            "kmsuser-locked-out-repair"
        );
        assert_eq!(slug("  R5 — USER_LOCKED_OUT!  "), "r5-user-locked-out");
        assert_eq!(
            name(Path::new("scenarios/r5.runbook"), "Locked out"),
            "r5__locked-out"
        );
    }

    #[test]
    fn header_is_skipped_when_reading() {
        assert_eq!(
            contents_of("---\nsource: x\nexpression: y\n---\nbody\n"),
            "body\n"
        );
    }
}
