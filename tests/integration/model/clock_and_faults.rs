//! The steps that change the world around the store: the clock (advance,
//! settle) and the faults of `Engine::apply_fault` (network conditions,
//! security groups, KMS internal errors, exhausted PKCS #11 sessions, a
//! destroyed cluster, a subnet's free addresses), each mirrored in the
//! model when the engine applied it.

use std::time::Duration;

use proptest::prelude::*;

use hsmdrill::engine::faults::Fault;
use hsmdrill::engine::network::NetworkCondition;

use super::actions::Target;
use super::CState;
use super::Run;
use super::{TestResult, SECOND, ZONES};

impl Run {
    pub(super) fn advance(&mut self, seconds: u64) -> TestResult {
        self.guard("advance", || self.e.advance(Duration::from_secs(seconds)))?;
        self.m.advance(i64::try_from(seconds).unwrap() * SECOND);
        self.note(format!(
            "advanced {seconds} s to {}",
            self.e.now().as_millis()
        ));
        Ok(())
    }

    pub(super) fn settle(&mut self) -> TestResult {
        let moved = self.guard("settle", || self.e.settle())?;
        let want = self.m.settle();
        self.note(format!("settled {moved:?}"));
        prop_assert_eq!(
            i64::try_from(moved.as_millis()).unwrap(),
            want,
            "step {}: settle moved the clock by {:?}",
            self.step,
            moved
        );
        Ok(())
    }

    /// A fault on the cluster `t` names, refused with CloudHSM's not-found
    /// once the cluster is gone; the cluster's index when it was applied.
    fn cluster_fault(
        &mut self,
        t: Target,
        fault: impl FnOnce(String) -> Fault,
    ) -> Result<Option<usize>, TestCaseError> {
        let ci = self.resolve(t);
        let cluster = self.m.clusters[ci].id.clone();
        let want = self.m.clusters[ci].expect_cloudhsm(false);
        self.fault(fault(cluster), want)?;
        Ok(want.is_ok().then_some(ci))
    }

    pub(super) fn network(&mut self, t: Target, condition: NetworkCondition) -> TestResult {
        if let Some(ci) = self.cluster_fault(t, |cluster| Fault::Network { cluster, condition })? {
            let c = &mut self.m.clusters[ci];
            match condition {
                NetworkCondition::Ok => {
                    c.blocked = false;
                    c.flaky = 0;
                }
                NetworkCondition::Blocked => c.blocked = true,
                NetworkCondition::Flaky(n) => {
                    c.blocked = false;
                    c.flaky = n;
                }
            }
        }
        Ok(())
    }

    pub(super) fn security_group(&mut self, t: Target, ok: bool) -> TestResult {
        if let Some(ci) = self.cluster_fault(t, |cluster| Fault::SecurityGroup { cluster, ok })? {
            self.m.clusters[ci].sg_ok = ok;
        }
        Ok(())
    }

    pub(super) fn internal_errors(&mut self, t: Target, count: u32) -> TestResult {
        if let Some(ci) =
            self.cluster_fault(t, |cluster| Fault::InternalErrors { cluster, count })?
        {
            self.m.clusters[ci].internal_errors = count;
        }
        Ok(())
    }

    /// ExhaustSessions (`exhaust`) or ReleaseSessions.
    pub(super) fn exhaust_sessions(&mut self, t: Target, exhaust: bool) -> TestResult {
        let fault = |cluster| {
            if exhaust {
                Fault::ExhaustSessions { cluster }
            } else {
                Fault::ReleaseSessions { cluster }
            }
        };
        if let Some(ci) = self.cluster_fault(t, fault)? {
            for h in &mut self.m.clusters[ci].hsms {
                h.exhausted = exhaust;
            }
        }
        Ok(())
    }

    pub(super) fn destroy_cluster(&mut self, t: Target) -> TestResult {
        if let Some(ci) = self.cluster_fault(t, |cluster| Fault::DeleteCluster { cluster })? {
            let c = &mut self.m.clusters[ci];
            let hsms = std::mem::take(&mut c.hsms);
            c.log_everyone_out();
            c.state = CState::Deleted;
            for h in hsms {
                self.m.release_address(&h.subnet);
            }
        }
        Ok(())
    }

    pub(super) fn free_addresses(&mut self, z: usize, count: u32) -> TestResult {
        let subnet = self.m.clusters[0].subnets[ZONES[z]].clone();
        self.fault(
            Fault::FreeAddresses {
                subnet: subnet.clone(),
                count,
            },
            Ok(()),
        )?;
        self.m.free.insert(subnet, count);
        Ok(())
    }
}
