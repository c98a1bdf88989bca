//! A scenario's timeline, as inline SVG: a marker lane (a marker per step:
//! faults, CloudHSM CLI lines, bursts with their tally, failed steps), then
//! a lane per key store (`ConnectionState` as coloured bands,
//! `ConnectionErrorCode` written in a `FAILED` band), per key (`KeyState`),
//! per cluster (its state and count of active HSMs) and per cluster's
//! `kmsuser` (logged in by KMS, failed logins, locked), drawn from the
//! [`Sample`]s the runner took after each step.
//!
//! The x axis is the virtual clock, compressed: most steps take no virtual
//! time and a `wait` may take days, so a linear axis would pile every
//! marker on a few instants. Each step gets a slot of [`SLOT`] pixels,
//! widened by the logarithm of the virtual time it took, and ticks are
//! labelled with the clock since the scenario began. A band runs from the
//! step whose sample shows a state to the next step whose sample differs.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{duration, esc};
use crate::scenario::outcome::{Mark, Outcome, StepRecord};
use crate::scenario::sample::Sample;

/// Pixels per step.
const SLOT: f64 = 16.0;
/// Pixels per natural-log unit of seconds passed in a step.
const TIME_SCALE: f64 = 14.0;
/// Width of the lane labels.
const LABEL: f64 = 170.0;
/// Height of a lane.
const LANE: f64 = 20.0;
/// Height of the tick row at the top.
const TICKS: f64 = 16.0;
/// Roughly how wide a character of a 10px label is.
const CHAR: f64 = 6.0;

/// The SVG timeline of `outcome`.
pub fn timeline(outcome: &Outcome) -> String {
    let xs = positions(outcome);
    let end = xs.last().map_or(LABEL, |x| x + SLOT);
    let lanes = lanes(outcome);
    let height = TICKS + LANE * (1 + lanes.len()) as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"timeline\" width=\"{w:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {w:.0} {height:.0}\" role=\"img\" aria-label=\"timeline on the virtual clock\">",
        w = end + 4.0
    );
    ticks(&mut svg, outcome, &xs, height);
    let y = TICKS;
    let _ = write!(
        svg,
        "<text class=\"lane\" x=\"4\" y=\"{:.0}\">steps</text>",
        y + 14.0
    );
    for (i, (s, x)) in outcome.steps.iter().zip(&xs).enumerate() {
        marker(&mut svg, i, s, *x, y);
    }
    for (n, lane) in lanes.iter().enumerate() {
        let y = TICKS + LANE * (n + 1) as f64;
        let _ = write!(
            svg,
            "<text class=\"lane\" x=\"4\" y=\"{:.0}\"><title>{}</title>{}</text>",
            y + 14.0,
            esc(&lane.title),
            esc(&clip(&lane.label, ((LABEL - 8.0) / CHAR) as usize))
        );
        bands(&mut svg, outcome, &xs, end, y, lane);
    }
    svg.push_str("</svg>");
    svg
}

/// The x of each step's marker.
fn positions(outcome: &Outcome) -> Vec<f64> {
    let mut x = LABEL;
    let mut prev = outcome.steps.first().and_then(|s| s.start);
    outcome
        .steps
        .iter()
        .map(|s| {
            let took = match (prev, s.end) {
                (Some(p), Some(e)) if e > p => (e - p) as f64 / 1000.0,
                _ => 0.0,
            };
            prev = s.end.or(prev);
            x += SLOT + TIME_SCALE * took.ln_1p();
            let at = x;
            // A burst's tally is written after its marker: make room.
            if let Mark::Burst { succeeded, failed } = &s.mark {
                x += tally(*succeeded, failed).chars().count() as f64 * CHAR;
            }
            at
        })
        .collect()
}

/// A tick wherever the clock moved, labelled unless it would overlap the
/// previous label.
fn ticks(svg: &mut String, outcome: &Outcome, xs: &[f64], height: f64) {
    let begin = outcome.steps.first().and_then(|s| s.start);
    let mut last_label = f64::MIN;
    let mut prev = begin;
    for (s, x) in outcome.steps.iter().zip(xs) {
        let (Some(b), Some(e)) = (begin, s.end) else {
            continue;
        };
        if prev.is_some_and(|p| e > p) {
            let _ = write!(
                svg,
                "<line class=\"tick\" x1=\"{x:.0}\" x2=\"{x:.0}\" y1=\"12\" y2=\"{height:.0}\"/>"
            );
            let label = duration(e - b);
            if *x - last_label > label.len() as f64 * CHAR + 6.0 {
                let _ = write!(
                    svg,
                    "<text class=\"clock\" x=\"{x:.0}\" y=\"10\" text-anchor=\"middle\">{}</text>",
                    esc(&label)
                );
                last_label = *x;
            }
        }
        prev = s.end;
    }
}

/// A step's marker: its shape says what kind of step it was.
fn marker(svg: &mut String, i: usize, s: &StepRecord, x: f64, y: f64) {
    let cy = y + LANE / 2.0;
    // No <title> and no wrapper for a plain step: the step's text is in
    // the section's step list and the script shows it on hover, and a
    // suite has thousands of markers, so each is kept to one short element.
    if s.passed && !matches!(s.mark, Mark::Fault | Mark::Cli | Mark::Burst { .. }) {
        let _ = write!(
            svg,
            "<circle class=\"k-step\" data-step=\"{i}\" cx=\"{x:.0}\" cy=\"{cy:.0}\" r=\"3\"/>"
        );
        return;
    }
    let _ = write!(svg, "<g class=\"m\" data-step=\"{i}\">");
    if !s.passed {
        let _ = write!(
            svg,
            "<path class=\"k-failed\" d=\"M{a:.0} {b:.0}L{c:.0} {d:.0}M{a:.0} {d:.0}L{c:.0} {b:.0}\"/>",
            a = x - 5.0,
            b = cy - 5.0,
            c = x + 5.0,
            d = cy + 5.0
        );
    } else {
        match &s.mark {
            Mark::Fault => {
                let _ = write!(
                    svg,
                    "<polygon class=\"k-fault\" points=\"{:.0},{:.0} {:.0},{:.0} {:.0},{:.0}\"/>",
                    x,
                    cy - 6.0,
                    x - 6.0,
                    cy + 5.0,
                    x + 6.0,
                    cy + 5.0
                );
            }
            Mark::Cli => {
                let _ = write!(
                    svg,
                    "<rect class=\"k-cli\" x=\"{:.0}\" y=\"{:.0}\" width=\"9\" height=\"9\"/>",
                    x - 4.5,
                    cy - 4.5
                );
            }
            Mark::Burst { succeeded, failed } => {
                let _ = write!(
                    svg,
                    "<polygon class=\"k-burst\" points=\"{:.0},{:.0} {:.0},{:.0} {:.0},{:.0} {:.0},{:.0}\"/>\
                     <text class=\"tally\" x=\"{:.0}\" y=\"{:.0}\">{}</text>",
                    x,
                    cy - 6.0,
                    x + 6.0,
                    cy,
                    x,
                    cy + 6.0,
                    x - 6.0,
                    cy,
                    x + 8.0,
                    cy + 4.0,
                    tally(*succeeded, failed)
                );
            }
            Mark::Setup
            | Mark::Call { .. }
            | Mark::Clock
            | Mark::Expect
            | Mark::Capture
            | Mark::Control => {
                let _ = write!(
                    svg,
                    "<circle class=\"k-step\" cx=\"{x:.0}\" cy=\"{cy:.0}\" r=\"3\"/>"
                );
            }
        }
    }
    svg.push_str("</g>");
}

/// One row of bands: what it is called and how to read a sample for it.
struct Lane {
    label: String,
    title: String,
    read: Reader,
}

/// How a lane reads its state from a sample (`None`: not in it).
type Reader = Box<dyn Fn(&Sample) -> Option<Band>>;

/// What a lane shows at one step: a state (its CSS class) and a label.
#[derive(Clone, Debug, Eq, PartialEq)]
struct Band {
    class: String,
    text: String,
    title: String,
}

/// Every store, key and cluster any sample shows, each once, in the order
/// first seen.
fn lanes(outcome: &Outcome) -> Vec<Lane> {
    let mut stores: Vec<(String, String)> = Vec::new();
    let mut keys: Vec<(String, Option<String>)> = Vec::new();
    let mut clusters: Vec<String> = Vec::new();
    for sample in outcome.steps.iter().filter_map(|s| s.state.as_ref()) {
        for s in &sample.stores {
            if !stores.iter().any(|(id, _)| *id == s.id) {
                stores.push((s.id.clone(), s.name.clone()));
            }
        }
        for k in &sample.keys {
            match keys.iter_mut().find(|(id, _)| *id == k.id) {
                Some((_, alias)) if alias.is_none() => alias.clone_from(&k.alias),
                Some(_) => {}
                None => keys.push((k.id.clone(), k.alias.clone())),
            }
        }
        for c in &sample.clusters {
            if !clusters.contains(&c.id) {
                clusters.push(c.id.clone());
            }
        }
    }
    let mut lanes = Vec::new();
    for (id, name) in stores {
        let key = id.clone();
        lanes.push(Lane {
            label: name.clone(),
            title: format!("key store {name} ({id}): ConnectionState"),
            read: Box::new(move |s: &Sample| {
                s.stores.iter().find(|x| x.id == key).map(|x| Band {
                    class: x.state.clone(),
                    text: x.error_code.clone().unwrap_or_default(),
                    title: match &x.error_code {
                        Some(code) => format!("{} ({code})", x.state),
                        None => x.state.clone(),
                    },
                })
            }),
        });
    }
    let shared = |alias: &str| {
        keys.iter()
            .filter(|(_, a)| a.as_deref() == Some(alias))
            .count()
            > 1
    };
    let keys: Vec<(String, String)> = keys
        .iter()
        .map(|(id, alias)| {
            let label = match alias {
                // An alias moved by UpdateAlias names two keys: tell them apart.
                Some(a) if shared(a) => format!("{a} {}", clip(id, 6)),
                Some(a) => a.clone(),
                None => format!("key {}", clip(id, 9)),
            };
            (id.clone(), label)
        })
        .collect();
    for (id, label) in keys {
        let key = id.clone();
        lanes.push(Lane {
            title: format!("KMS key {id}: KeyState"),
            label,
            read: Box::new(move |s: &Sample| {
                s.keys.iter().find(|x| x.id == key).map(|x| Band {
                    class: x.state.clone(),
                    text: String::new(),
                    title: x.state.clone(),
                })
            }),
        });
    }
    for id in clusters {
        let key = id.clone();
        lanes.push(Lane {
            label: id.clone(),
            title: format!("cluster {id}: state, active HSMs"),
            read: Box::new(move |s: &Sample| {
                s.clusters.iter().find(|x| x.id == key).map(|x| Band {
                    class: x.state.clone(),
                    text: plural_hsm(x.active_hsms),
                    title: format!("{}, {}", x.state, plural_hsm(x.active_hsms)),
                })
            }),
        });
        let key = id.clone();
        lanes.push(Lane {
            label: "  kmsuser".into(),
            title: format!("kmsuser of {id}: logged in by KMS, failed logins, locked"),
            read: Box::new(move |s: &Sample| {
                let c = s.clusters.iter().find(|x| x.id == key)?;
                let u = c.kmsuser?;
                let (class, what) = if u.locked {
                    ("FAILED", "locked".to_owned())
                } else if u.logged_in_by_kms {
                    ("CONNECTED", "KMS logged in".to_owned())
                } else {
                    ("DISCONNECTED", "not logged in".to_owned())
                };
                let text = match u.failed_logins {
                    0 => what,
                    n => format!("{what}, {n} failed"),
                };
                Some(Band {
                    class: class.into(),
                    title: text.clone(),
                    text,
                })
            }),
        });
    }
    lanes
}

/// A burst's tally as the marker lane writes it: `✓18 ✗2`.
fn tally(succeeded: u32, failed: &BTreeMap<String, u32>) -> String {
    format!("✓{succeeded} ✗{}", failed.values().sum::<u32>())
}

fn plural_hsm(n: usize) -> String {
    if n == 1 {
        "1 HSM".into()
    } else {
        format!("{n} HSMs")
    }
}

/// A lane's bands: consecutive steps whose samples agree make one band.
fn bands(svg: &mut String, outcome: &Outcome, xs: &[f64], end: f64, y: f64, lane: &Lane) {
    let mut open: Option<(f64, Band)> = None;
    let close = |svg: &mut String, from: f64, to: f64, band: &Band| {
        let w = to - from;
        if w <= 0.0 {
            return;
        }
        let _ = write!(
            svg,
            "<rect class=\"b cs-{}\" x=\"{from:.0}\" y=\"{:.0}\" width=\"{w:.0}\" height=\"{:.0}\"><title>{}</title></rect>",
            class_name(&band.class),
            y + 3.0,
            LANE - 6.0,
            esc(&band.title)
        );
        if !band.text.is_empty() && w > 3.0 * CHAR {
            let _ = write!(
                svg,
                "<text class=\"bt\" x=\"{:.0}\" y=\"{:.0}\">{}</text>",
                from + 3.0,
                y + 14.0,
                esc(&clip(&band.text, ((w - 6.0) / CHAR) as usize))
            );
        }
    };
    for (s, x) in outcome.steps.iter().zip(xs) {
        let now = s.state.as_ref().and_then(|sample| (lane.read)(sample));
        let same = match (&open, &now) {
            (Some((_, a)), Some(b)) => a == b,
            (None, None) => true,
            (Some(_), None) | (None, Some(_)) => false,
        };
        if same {
            continue;
        }
        if let Some((from, band)) = open.take() {
            close(svg, from, *x, &band);
        }
        open = now.map(|b| (*x, b));
    }
    if let Some((from, band)) = open {
        close(svg, from, end, &band);
    }
}

/// Keeps letters, digits and `_` of a wire name, for a CSS class.
fn class_name(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// At most `n` characters of `s`, with `…` when cut.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_counts_characters_not_bytes() {
        assert_eq!(clip("USER_LOCKED_OUT", 20), "USER_LOCKED_OUT");
        assert_eq!(clip("ééééé", 3), "éé…");
        assert_eq!(clip("abc", 0), "…");
    }

    #[test]
    fn class_names_keep_only_safe_characters() {
        assert_eq!(
            class_name("PENDING_DELETION\" onload=x"),
            "PENDING_DELETIONonloadx"
        );
    }
}
