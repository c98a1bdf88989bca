//! A map that remembers which of its entries changed, so that
//! `hsmdrill serve --state` writes only those after a call, not the world.
//!
//! [`Tracked`] is a `BTreeMap` for reading (it dereferences to one, so
//! iteration order, `get`, `len` and `contains_key` are the map's) whose
//! every way of changing an entry (`get_mut`, `insert`, `remove`, `entry`,
//! `retain`) also records the entry's key. The persistence layer drains the
//! record with [`Tracked::take_changes`] after each call and writes those
//! entries (or deletes those that are gone). There is no `values_mut` or
//! `iter_mut`: a path that walks every entry mutably would mark the world
//! changed; such paths find what to change first and `get_mut` it (the
//! scheduler does exactly that).
//!
//! A change is [`Change::Replaced`] when the entry was put in whole (its
//! nested parts, such as a cluster's key material kept apart, must be
//! written whole too), [`Change::Touched`] when it was only changed in
//! place. Whether it was removed is read off the map when draining.
//!
//! A clone, and a map read back by `serde`, has no changes: it is a new
//! value, written whole by whoever puts it somewhere, or one already on
//! disk.
//!
//! Without `--state` nothing drains the record, so it is bounded: past
//! twice the map's size (and at least [`MIN_RECORD`] keys) it is dropped and
//! the map says it [`overflowed`](Tracked::overflowed), which a drain takes
//! as "write this partition whole".

use std::borrow::Borrow;
use std::collections::btree_map::{self, BTreeMap};
use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Fewest changed keys a map records before it overflows.
pub const MIN_RECORD: usize = 4096;

/// How an entry changed since the last drain.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Change {
    /// Changed in place (through `get_mut`), or removed.
    Touched,
    /// Put in whole (`insert`, `entry`).
    Replaced,
}

/// A `BTreeMap` that records the keys of the entries it changes.
pub struct Tracked<K, V> {
    map: BTreeMap<K, V>,
    changes: BTreeMap<K, Change>,
    /// The record grew past its bound and was dropped.
    overflowed: bool,
}

impl<K: Ord + Clone, V> Tracked<K, V> {
    /// An empty map with no changes.
    pub fn new() -> Self {
        Self::unchanged(BTreeMap::new())
    }

    /// A map already persisted as it is: no changes.
    pub fn unchanged(map: BTreeMap<K, V>) -> Self {
        Self {
            map,
            changes: BTreeMap::new(),
            overflowed: false,
        }
    }

    fn note(&mut self, key: K, change: Change) {
        if self.overflowed {
            return;
        }
        let c = self.changes.entry(key).or_insert(change);
        if change == Change::Replaced {
            *c = Change::Replaced;
        }
        if self.changes.len() > MIN_RECORD.max(self.map.len().saturating_mul(2)) {
            self.changes = BTreeMap::new();
            self.overflowed = true;
        }
    }

    /// The entry for `key`, to change in place; records it.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let (k, _) = self.map.get_key_value(key)?;
        let k = k.clone();
        self.note(k, Change::Touched);
        self.map.get_mut(key)
    }

    /// Puts `value` in whole under `key`; records it.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.note(key.clone(), Change::Replaced);
        self.map.insert(key, value)
    }

    /// Removes the entry for `key`; records it if there was one.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let (k, v) = self.map.remove_entry(key)?;
        self.note(k, Change::Touched);
        Some(v)
    }

    /// The map's entry for `key` (recorded as replaced: it may be inserted).
    pub fn entry(&mut self, key: K) -> btree_map::Entry<'_, K, V> {
        self.note(key.clone(), Change::Replaced);
        self.map.entry(key)
    }

    /// Keeps the entries for which `keep` is true; records those removed.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        let mut removed = Vec::new();
        self.map.retain(|k, v| {
            let kept = keep(k, v);
            if !kept {
                removed.push(k.clone());
            }
            kept
        });
        for k in removed {
            self.note(k, Change::Touched);
        }
    }

    /// Records `key` as changed in place, for a change made through a
    /// shared handle the map cannot see (a network link's condition).
    pub fn mark<Q>(&mut self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        if let Some((k, _)) = self.map.get_key_value(key) {
            let k = k.clone();
            self.note(k, Change::Touched);
        }
    }

    /// The keys changed since the last drain (with how), and forgets them
    /// (and that the record overflowed, if it did: see
    /// [`Tracked::overflowed`]).
    pub fn take_changes(&mut self) -> BTreeMap<K, Change> {
        self.overflowed = false;
        std::mem::take(&mut self.changes)
    }

    /// Whether the record overflowed since the last drain: it no longer
    /// says what changed, so the whole map must be written.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// The map itself, its changes dropped.
    pub fn into_map(self) -> BTreeMap<K, V> {
        self.map
    }

    /// Whether anything changed since the last drain.
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }
}

impl<K: Ord + Clone, V> Default for Tracked<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V> Deref for Tracked<K, V> {
    type Target = BTreeMap<K, V>;

    fn deref(&self) -> &BTreeMap<K, V> {
        &self.map
    }
}

impl<'a, K, V> IntoIterator for &'a Tracked<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = btree_map::Iter<'a, K, V>;

    fn into_iter(self) -> Self::IntoIter {
        self.map.iter()
    }
}

impl<K: Ord + Clone, V: Clone> Clone for Tracked<K, V> {
    /// The same entries and no changes (see the module docs).
    fn clone(&self) -> Self {
        Self::unchanged(self.map.clone())
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for Tracked<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.map.fmt(f)
    }
}

impl<K: Ord + Clone, V> FromIterator<(K, V)> for Tracked<K, V> {
    /// A new map: every entry replaced.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut t = Self::new();
        for (k, v) in iter {
            t.insert(k, v);
        }
        t
    }
}

impl<K: Serialize, V: Serialize> Serialize for Tracked<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.map.serialize(s)
    }
}

impl<'de, K, V> Deserialize<'de> for Tracked<K, V>
where
    K: Deserialize<'de> + Ord + Clone,
    V: Deserialize<'de>,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BTreeMap::deserialize(d).map(Self::unchanged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_way_of_changing_an_entry_records_it_and_reads_record_nothing() {
        let mut t: Tracked<String, u32> = Tracked::new();
        t.insert("a".into(), 1);
        t.insert("b".into(), 2);
        t.insert("c".into(), 3);
        assert_eq!(t.take_changes().len(), 3);
        assert!(!t.has_changes());
        // Reads (through the map) record nothing.
        assert_eq!(t.get("a"), Some(&1));
        assert_eq!(t.values().sum::<u32>(), 6);
        assert!(!t.has_changes());
        // Missing keys record nothing either.
        assert!(t.get_mut("z").is_none());
        assert!(t.remove("z").is_none());
        t.mark("z");
        assert!(!t.has_changes());
        *t.get_mut("a").unwrap() += 10;
        t.remove("b");
        t.retain(|_, v| *v != 3);
        *t.entry("d".into()).or_insert(0) += 4;
        let changes = t.take_changes();
        assert_eq!(
            changes.into_iter().collect::<Vec<_>>(),
            [
                ("a".to_owned(), Change::Touched),
                ("b".to_owned(), Change::Touched),
                ("c".to_owned(), Change::Touched),
                ("d".to_owned(), Change::Replaced),
            ]
        );
        // Replaced wins over touched, whatever the order.
        t.get_mut("a");
        t.insert("a".into(), 0);
        t.get_mut("a");
        assert_eq!(t.take_changes()["a"], Change::Replaced);
        // A clone and a map read back have no changes.
        t.get_mut("a");
        assert!(!t.clone().has_changes());
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"{"a":0,"d":4}"#);
        let back: Tracked<String, u32> = serde_json::from_str(&json).unwrap();
        assert!(!back.has_changes());
        assert_eq!(*back, *t);
    }

    #[test]
    fn the_record_is_bounded_and_says_when_it_overflowed() {
        let mut t: Tracked<u32, ()> = Tracked::new();
        for i in 0..10 {
            t.insert(i, ());
        }
        for round in 0..3 {
            for i in 0..MIN_RECORD as u32 {
                t.remove(&(i + round * 1_000_000));
                t.insert(i + 100 + round * 1_000_000, ());
                t.remove(&(i + 100 + round * 1_000_000));
            }
        }
        assert!(t.overflowed());
        assert!(t.changes.len() <= MIN_RECORD);
        assert!(t.take_changes().is_empty());
        assert!(!t.overflowed());
    }
}
