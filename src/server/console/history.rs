//! The console's "last minutes": each key store's and key's state as the
//! server saw it over the last [`WINDOW`] of wall-clock time.
//!
//! The server keeps it, not the page, so a console opened after an incident
//! still shows the incident: [`sample_until_closed`] looks at every
//! partition each [`SAMPLE`], and every view a console renders looks too
//! (so an event stream never shows a state its timeline lacks). A lane only
//! grows when its state changes; a store or key that is gone gets a last
//! `gone` segment and leaves once that is older than the window.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use serde::Serialize;

use super::super::durable::{on_engine_as, Effect};
use super::super::ServerState;
use crate::scenario::sample::{KeySample, Sample, StoreSample};

/// How far back the timeline reaches.
pub const WINDOW: Duration = Duration::from_secs(5 * 60);

/// How often the server samples the world while nobody watches.
pub const SAMPLE: Duration = Duration::from_secs(1);

/// What a lane shows for a store or key that no longer exists.
pub const GONE: &str = "gone";

/// One state, from `since` until the next segment's `since` (or now).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Segment {
    /// Wall-clock ms since the Unix epoch.
    pub since: i64,
    /// `CONNECTED`, `FAILED USER_LOCKED_OUT`, `Enabled`, `Unavailable`, …
    pub state: String,
}

/// One lane of the timeline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Lane {
    /// The store's name, or the key's alias (its id without one).
    pub label: String,
    /// Oldest first; the first may start before the window.
    pub segments: Vec<Segment>,
}

/// A lane as observed: which thing (`store:…`, `key:…`), its label, and
/// its state now.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    /// Tells lanes apart (a store name may equal a key alias).
    pub id: String,
    /// What the lane is called on the page.
    pub label: String,
    /// Its state now.
    pub state: String,
}

impl Observed {
    /// Every store's and key's lane, stores first.
    pub fn of<'a>(
        stores: &[StoreSample],
        keys: impl IntoIterator<Item = &'a KeySample>,
    ) -> Vec<Observed> {
        let stores = stores.iter().map(|s| Observed {
            id: format!("store:{}", s.id),
            label: s.name.clone(),
            state: match &s.error_code {
                Some(code) => format!("{} {code}", s.state),
                None => s.state.clone(),
            },
        });
        let keys = keys.into_iter().map(|k| Observed {
            id: format!("key:{}", k.id),
            label: k.alias.clone().unwrap_or_else(|| k.id.clone()),
            state: k.state.clone(),
        });
        stores.chain(keys).collect()
    }
}

#[derive(Debug, Default)]
struct Lanes {
    /// In order of first appearance, so the page's lanes do not jump about.
    order: Vec<String>,
    by_id: BTreeMap<String, (String, VecDeque<Segment>)>,
}

/// Every partition's lanes, by `account/region`.
#[derive(Debug, Default)]
pub struct History {
    partitions: Mutex<BTreeMap<String, Lanes>>,
}

impl History {
    /// Records what `partition` looks like at `now` (wall ms) and answers
    /// its timeline.
    pub fn observe(&self, partition: &str, now: i64, seen: &[Observed]) -> Vec<Lane> {
        let mut all = self.partitions.lock();
        let lanes = all.entry(partition.to_owned()).or_default();
        let mut present = std::collections::BTreeSet::new();
        for o in seen {
            present.insert(o.id.as_str());
            let (label, segments) = lanes.by_id.entry(o.id.clone()).or_insert_with(|| {
                lanes.order.push(o.id.clone());
                (o.label.clone(), VecDeque::new())
            });
            label.clone_from(&o.label);
            push_change(segments, now, &o.state);
        }
        for (id, (_, segments)) in lanes.by_id.iter_mut() {
            if !present.contains(id.as_str()) {
                push_change(segments, now, GONE);
            }
        }
        let from = now.saturating_sub(i64::try_from(WINDOW.as_millis()).unwrap_or(i64::MAX));
        for (_, segments) in lanes.by_id.values_mut() {
            // The segment the window starts in stays: it says what the
            // state was at the window's left edge.
            while segments.len() > 1 && segments.get(1).is_some_and(|s| s.since <= from) {
                segments.pop_front();
            }
        }
        lanes.by_id.retain(|_, (_, segments)| {
            !(segments.len() == 1
                && segments
                    .front()
                    .is_some_and(|s| s.state == GONE && s.since <= from))
        });
        let Lanes { order, by_id } = lanes;
        order.retain(|id| by_id.contains_key(id));
        order
            .iter()
            .filter_map(|id| by_id.get(id))
            .map(|(label, segments)| Lane {
                label: label.clone(),
                segments: segments.iter().cloned().collect(),
            })
            .collect()
    }
}

fn push_change(segments: &mut VecDeque<Segment>, now: i64, state: &str) {
    if segments.back().is_none_or(|s| s.state != state) {
        segments.push_back(Segment {
            since: now,
            state: state.to_owned(),
        });
    }
}

/// Wall-clock ms since the Unix epoch.
pub fn wall_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The key of a partition in [`History`].
pub fn partition_key(account: &str, region: &str) -> String {
    format!("{account}/{region}")
}

/// Samples every partition each [`SAMPLE`] until the server shuts down
/// (started by [`crate::server::run`]). A partition that cannot be read now
/// (a failed `--state` write) is tried again at the next sample.
pub async fn sample_until_closed(state: Arc<ServerState>) {
    let mut closing = state.closing.subscribe();
    loop {
        for engine in state.cloud().partitions() {
            let sampled = on_engine_as(&state, engine, Effect::Reads, |e| {
                let config = e.config();
                let sample = Sample::of(e);
                (
                    partition_key(&config.account, &config.region),
                    Observed::of(&sample.stores, &sample.keys),
                )
            })
            .await;
            if let Ok((key, seen)) = sampled {
                state.console_history.observe(&key, wall_now(), &seen);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(SAMPLE) => {}
            _ = closing.wait_for(|c| *c) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(lanes: &[(&str, &str)]) -> Vec<Observed> {
        lanes
            .iter()
            .map(|(id, state)| Observed {
                id: (*id).to_owned(),
                label: format!("label {id}"),
                state: (*state).to_owned(),
            })
            .collect()
    }

    fn states(lane: &Lane) -> Vec<(i64, &str)> {
        lane.segments
            .iter()
            .map(|s| (s.since, s.state.as_str()))
            .collect()
    }

    #[test]
    fn a_lane_grows_only_when_its_state_changes() {
        let h = History::default();
        h.observe("p", 1_000, &seen(&[("store:a", "CONNECTED")]));
        h.observe("p", 2_000, &seen(&[("store:a", "CONNECTED")]));
        let lanes = h.observe("p", 3_000, &seen(&[("store:a", "DISCONNECTED")]));
        assert_eq!(lanes.len(), 1);
        assert_eq!(lanes[0].label, "label store:a");
        assert_eq!(
            states(&lanes[0]),
            [(1_000, "CONNECTED"), (3_000, "DISCONNECTED")]
        );
    }

    #[test]
    fn the_window_keeps_the_segment_it_starts_in() {
        let h = History::default();
        let w = i64::try_from(WINDOW.as_millis()).unwrap_or(i64::MAX);
        h.observe("p", 0, &seen(&[("key:k", "Enabled")]));
        h.observe("p", 10, &seen(&[("key:k", "Unavailable")]));
        h.observe("p", 20, &seen(&[("key:k", "Enabled")]));
        let lanes = h.observe("p", 15 + w, &seen(&[("key:k", "Enabled")]));
        // At the window's left edge (15) the key was Unavailable.
        assert_eq!(states(&lanes[0]), [(10, "Unavailable"), (20, "Enabled")]);
    }

    #[test]
    fn a_vanished_lane_says_gone_then_leaves_after_the_window() {
        let h = History::default();
        let w = i64::try_from(WINDOW.as_millis()).unwrap_or(i64::MAX);
        h.observe("p", 0, &seen(&[("key:a", "Enabled"), ("key:b", "Enabled")]));
        let lanes = h.observe("p", 100, &seen(&[("key:b", "Enabled")]));
        assert_eq!(states(&lanes[0]), [(0, "Enabled"), (100, GONE)]);
        let lanes = h.observe("p", 101 + w, &seen(&[("key:b", "Enabled")]));
        assert_eq!(lanes.len(), 1, "{lanes:?}");
        assert_eq!(lanes[0].label, "label key:b");
    }

    #[test]
    fn partitions_and_lane_order_are_kept_apart() {
        let h = History::default();
        h.observe("a", 0, &seen(&[("store:x", "CONNECTED")]));
        h.observe("b", 0, &seen(&[("store:y", "FAILED USER_LOCKED_OUT")]));
        let lanes = h.observe(
            "a",
            5,
            &seen(&[("key:z", "Enabled"), ("store:x", "CONNECTED")]),
        );
        let labels: Vec<&str> = lanes.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(labels, ["label store:x", "label key:z"]);
        let lanes = h.observe("b", 5, &seen(&[("store:y", "FAILED USER_LOCKED_OUT")]));
        assert_eq!(states(&lanes[0]), [(0, "FAILED USER_LOCKED_OUT")]);
    }
}
