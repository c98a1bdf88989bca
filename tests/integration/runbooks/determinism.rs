//! Determinism: the same calls on two engines loaded from the same world
//! give byte-identical answers (ids, dates and states come from the seed
//! and the steps; only key material is random, and no answer shows it).

use std::time::Duration;

use serde_json::json;

use super::*;

/// A drill touching stores, keys, clusters and the clock; returns every
/// DescribeCustomKeyStores and DescribeKey answer as JSON text.
fn drill(e: &Engine) -> Vec<String> {
    let mut out = Vec::new();
    let mut snapshot = |e: &Engine, keys: &[&str]| {
        out.push(call(e, "DescribeCustomKeyStores", json!({})).to_string());
        for k in keys {
            out.push(call(e, "DescribeKey", json!({"KeyId": k})).to_string());
        }
    };
    snapshot(e, &[KEY_ID]);
    let second = create_key(e, STORE);
    call(e, "DisableKey", json!({"KeyId": second}));
    encrypt(e, ALIAS, "x");
    snapshot(e, &[KEY_ID, &second]);

    disconnect(e, STORE);
    schedule_deletion(e, &second, 7);
    lock_kmsuser(e, CLUSTER);
    connect(e, STORE);
    snapshot(e, &[KEY_ID, &second]);
    e.settle();
    snapshot(e, &[KEY_ID, &second]);

    disconnect(e, STORE);
    reset_kmsuser_password(e, "newPass123");
    reconnect(e, STORE);
    e.advance(Duration::from_secs(3 * 86_400));
    snapshot(e, &[KEY_ID, &second]);
    let backup = e.take_backup(CLUSTER).unwrap();
    out.push(backup);
    out.push(call(e, "DescribeClusters", json!({})).to_string());
    out
}

#[test]
fn the_same_calls_on_two_engines_from_the_same_world_give_identical_json() {
    let (a, b) = (example(), example());
    let (ra, rb) = (drill(&a), drill(&b));
    assert_eq!(ra.len(), rb.len());
    for (x, y) in ra.iter().zip(&rb) {
        assert_eq!(x, y);
    }
    assert_eq!(store_password(&a, STORE), store_password(&b, STORE));
}

#[test]
fn the_same_calls_give_identical_trails() {
    let (a, b) = (example(), example());
    drill(&a);
    drill(&b);
    let (ta, tb) = (a.trail_events(None), b.trail_events(None));
    assert_eq!(ta.len(), tb.len());
    for (x, y) in ta.iter().zip(&tb) {
        assert_eq!(x.to_string(), y.to_string());
    }
}
