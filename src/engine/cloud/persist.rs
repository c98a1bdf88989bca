//! A [`Cloud`] as a state file, for `hsmdrill serve --state`.
//!
//! The file is the default partition's engine snapshot (`engine::persist`,
//! whose layout it keeps, so a single-partition cloud writes what an engine
//! writes) with two more members: `partitions`, every other partition's
//! config, state and whole trail, and `access_keys`. All partitions are
//! serialized under their state read locks, taken together (default first,
//! then in (account, Region) order; no operation holds two partitions'
//! write locks at once, so this cannot deadlock), so the file is one
//! instant of the whole cloud.
//!
//! Only the default partition's trail has a journal (`FILE.trail`): the
//! others' events travel in the snapshot, which the server therefore writes
//! after every call in another partition (`server/durable.rs`). That keeps
//! one journal and one group commit, at the price of a snapshot per call
//! outside the default partition (docs/fidelity.md I48).

use std::path::Path;

use super::super::clock::Clock;
use super::super::journal;
use super::super::persist::{
    build, parse, read_if_any, write_atomic, PartitionIn, PartitionOut, PersistError, SavedClock,
    SnapshotIn,
};
use super::super::trail::{Trail, TrailEvent};
use super::super::Engine;
use super::Cloud;

impl Cloud {
    /// The cloud as a state file's bytes (see the module docs).
    pub fn snapshot_json(&self) -> Result<Vec<u8>, PersistError> {
        let others: Vec<_> = self.partitions().into_iter().skip(1).collect();
        let default_state = self.default.state.read();
        let other_states: Vec<_> = others.iter().map(|e| e.state.read()).collect();
        let mut snapshot = self.default.snapshot_out(&default_state);
        snapshot.partitions = others
            .iter()
            .zip(&other_states)
            .map(|(e, st)| PartitionOut {
                config: &e.config,
                state: st,
                trail: e.trail.saved(),
            })
            .collect();
        if !self.access_keys.is_empty() {
            snapshot.access_keys = Some(&self.access_keys);
        }
        serde_json::to_vec(&snapshot).map_err(|e| PersistError::Serialize(e.to_string()))
    }

    /// Writes the cloud's snapshot to `path` atomically.
    pub fn save_to(&self, path: &Path) -> Result<(), PersistError> {
        let bytes = self.snapshot_json()?;
        write_atomic(path, &bytes).map_err(|source| PersistError::Io {
            path: path.to_owned(),
            source,
        })
    }

    /// A cloud from a state file's bytes (the default partition's journal
    /// not read: see [`Cloud::restore_file`]).
    pub fn restore(
        bytes: &[u8],
        clock: impl FnOnce(SavedClock) -> Clock,
    ) -> Result<Cloud, PersistError> {
        Ok(from_snapshot(parse(bytes)?, Vec::new(), clock))
    }

    /// Reads the state file at `path` and the default partition's trail
    /// journal beside it (if it belongs with this file's trail, as
    /// [`Engine::restore_file`] reads it); `Ok(None)` if there is no state
    /// file. The clock continues from the latest of the snapshot's instant
    /// and every partition's newest event.
    pub fn restore_file(
        path: &Path,
        clock: impl FnOnce(SavedClock) -> Clock,
    ) -> Result<Option<Cloud>, PersistError> {
        let Some(bytes) = read_if_any(path)? else {
            return Ok(None);
        };
        let snapshot = parse(&bytes)?;
        let journaled = match snapshot.trail_id() {
            Some(id) => match journal::read(&journal::journal_path(path))? {
                Some(j) if j.trail_id == id => j.events,
                Some(_) | None => Vec::new(),
            },
            None => Vec::new(),
        };
        Ok(Some(from_snapshot(snapshot, journaled, clock)))
    }
}

/// The cloud a snapshot and its default partition's journaled events make.
fn from_snapshot(
    mut snapshot: SnapshotIn,
    journaled: Vec<TrailEvent>,
    clock: impl FnOnce(SavedClock) -> Clock,
) -> Cloud {
    let partitions = std::mem::take(&mut snapshot.partitions);
    let access_keys = std::mem::take(&mut snapshot.access_keys);
    let latest = partitions
        .iter()
        .flat_map(|p| p.trail.events.iter().map(|e| e.time))
        .max();
    let default = build(snapshot, journaled, |saved| {
        clock(SavedClock {
            now: latest.map_or(saved.now, |t| t.max(saved.now)),
            ..saved
        })
    });
    let shared = default.clock().clone();
    let others: Vec<Engine> = partitions
        .into_iter()
        .map(|p| restore_partition(p, shared.clone()))
        .collect();
    Cloud::new(default)
        .with_partitions(others)
        .with_access_keys(access_keys)
}

/// A partition's engine from its saved parts, on the cloud's clock.
fn restore_partition(p: PartitionIn, clock: Clock) -> Engine {
    let capacity = p.config.trail_capacity;
    let mut engine = Engine::with_clock(p.config, clock);
    engine.trail = Trail::restored(
        p.trail.seed,
        p.trail.id,
        p.trail.next,
        p.trail.events,
        capacity,
    );
    {
        let mut st = engine.state.write();
        *st = p.state;
        engine.reschedule(&st);
    }
    engine
}
