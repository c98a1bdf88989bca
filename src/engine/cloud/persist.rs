//! A [`Cloud`] built back from its partitions' rows, for `hsmdrill serve
//! --state` (the rows and what they hold: `engine::persist`; the file:
//! `server/store.rs`).
//!
//! Every partition is an engine of its own, so a cloud is its partitions'
//! rows, the access key → account map, and one clock: it continues from the
//! latest of the saved instant and every partition's newest event, so no
//! new event is dated before one a client saw.

use std::collections::BTreeMap;

use super::super::clock::Clock;
use super::super::persist::{PersistError, Rows, SavedClock};
use super::super::Engine;
use super::Cloud;

impl Cloud {
    /// The cloud whose default partition is `default` and whose other
    /// partitions are `others`, with `access_keys`, on the clock `clock`
    /// makes of how it stood (`saved`, moved to the newest event if later).
    pub fn from_rows(
        default: Rows,
        others: Vec<Rows>,
        access_keys: BTreeMap<String, String>,
        saved: SavedClock,
        clock: impl FnOnce(SavedClock) -> Clock,
    ) -> Result<Cloud, PersistError> {
        let latest = std::iter::once(&default)
            .chain(&others)
            .flat_map(|r| r.trail.events.iter().map(|e| e.time))
            .max();
        let clock = clock(SavedClock {
            now: latest.map_or(saved.now, |t| t.max(saved.now)),
            ..saved
        });
        let default = Engine::from_rows(default, clock.clone())?;
        let others = others
            .into_iter()
            .map(|rows| Engine::from_rows(rows, clock.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Cloud::new(default)
            .with_partitions(others)
            .with_access_keys(access_keys))
    }
}
