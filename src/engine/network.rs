//! Injected faults on the network path between KMS and one cluster.
//!
//! R4: "KMS cannot communicate with the CloudHSM cluster (possibly a transient
//! network issue)". A [`Link`] is either healthy, blocked until unblocked
//! (egress cut by a security group or network ACL), or flaky: the next N
//! calls across it fail, then it heals. Connect attempts that cross a failing
//! link end `FAILED` with `NETWORK_ERRORS`; cryptographic operations raise
//! `KMSInvalidStateException` with the R4 network message. The link is made of
//! atomics so the data plane consults it without the engine's lock.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a scenario or the control API sets a link to.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub enum NetworkCondition {
    /// Every call gets through.
    #[serde(rename = "ok")]
    Ok,
    /// No call gets through until set back to `Ok`.
    #[serde(rename = "blocked")]
    Blocked,
    /// The next N calls fail, then the link heals by itself.
    Flaky(u32),
}

/// The link between KMS and one cluster. Persisted as its
/// [`NetworkCondition`].
#[derive(Debug, Default)]
pub struct Link {
    blocked: AtomicBool,
    flaky_remaining: AtomicU32,
}

impl Serialize for Link {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.condition().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Link {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let link = Link::default();
        link.set(NetworkCondition::deserialize(d)?);
        Ok(link)
    }
}

impl Link {
    /// Sets the condition of the link.
    pub fn set(&self, condition: NetworkCondition) {
        match condition {
            NetworkCondition::Ok => {
                self.blocked.store(false, Ordering::SeqCst);
                self.flaky_remaining.store(0, Ordering::SeqCst);
            }
            NetworkCondition::Blocked => self.blocked.store(true, Ordering::SeqCst),
            NetworkCondition::Flaky(n) => {
                self.blocked.store(false, Ordering::SeqCst);
                self.flaky_remaining.store(n, Ordering::SeqCst);
            }
        }
    }

    /// The condition now.
    pub fn condition(&self) -> NetworkCondition {
        if self.blocked.load(Ordering::SeqCst) {
            NetworkCondition::Blocked
        } else {
            match self.flaky_remaining.load(Ordering::SeqCst) {
                0 => NetworkCondition::Ok,
                n => NetworkCondition::Flaky(n),
            }
        }
    }

    /// One call crosses the link: `true` if it gets through. A flaky link
    /// spends one failure per call.
    pub fn cross(&self) -> bool {
        if self.blocked.load(Ordering::Relaxed) {
            return false;
        }
        if self.flaky_remaining.load(Ordering::Relaxed) == 0 {
            return true;
        }
        self.flaky_remaining
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_err()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flaky_link_fails_n_times_then_heals() {
        let l = Link::default();
        l.set(NetworkCondition::Flaky(2));
        assert!(!l.cross());
        assert!(!l.cross());
        assert!(l.cross());
        assert_eq!(l.condition(), NetworkCondition::Ok);
    }

    #[test]
    fn a_link_persists_as_its_condition() {
        for c in [
            NetworkCondition::Ok,
            NetworkCondition::Blocked,
            NetworkCondition::Flaky(3),
        ] {
            let l = Link::default();
            l.set(c);
            let text = serde_json::to_string(&l).unwrap();
            let back: Link = serde_json::from_str(&text).unwrap();
            assert_eq!(back.condition(), c, "{text}");
        }
    }

    #[test]
    fn blocked_link_stays_blocked() {
        let l = Link::default();
        l.set(NetworkCondition::Blocked);
        assert!(!l.cross());
        assert!(!l.cross());
        l.set(NetworkCondition::Ok);
        assert!(l.cross());
    }
}
