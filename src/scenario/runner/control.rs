//! Control steps: `repeat N`, `retry N every D`, `burst N` (copies run
//! as tokio tasks on virtual time, tallied by outcome) and `in region R`
//! (the target acts in that Region until the block ends), and sleeping on
//! the right clock inside a burst.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::{Ctx, Last, StepFailure};
use crate::engine::ids::IdGen;
use crate::scenario::ir::{Control, Step};

impl Ctx {
    pub(super) async fn sleep(&mut self, d: Duration) {
        match self.burst {
            Some(start) => {
                tokio::time::sleep(d).await;
                self.target.burst_clock(start.elapsed());
            }
            None => self.target.wait(d),
        }
    }

    /// The wait before retry `i` (0-based) of a `retry` block: the AWS
    /// SDKs' standard backoff, exponential with full jitter, a uniform
    /// draw in `[0, min(20 × base, base × 2^i)]`; the SDKs' 1 s base and
    /// 20 s cap scaled to `every D` (docs/fidelity.md I64). The draw comes
    /// from the world's seed, the step's place and the burst copy, so a
    /// rerun waits the same and copies of a burst do not retry in step.
    fn backoff(&self, step: &Step, base: Duration, i: u32) -> Duration {
        let r =
            mix(mix(self.target.seed() ^ step.span.offset as u64) ^ mix(self.copy ^ u64::from(i)));
        full_jitter(base, i, r)
    }

    pub(super) async fn control(
        &mut self,
        step: &Step,
        c: &Control,
    ) -> Result<(), Box<StepFailure>> {
        match c {
            Control::Repeat { times, body } => {
                for _ in 0..*times {
                    self.steps(body).await?;
                }
                Ok(())
            }
            Control::Retry {
                attempts,
                base,
                body,
            } => {
                let mut attempt = 1;
                loop {
                    match self.steps(body).await {
                        Ok(()) => return Ok(()),
                        Err(f) if attempt >= *attempts => {
                            return Err(Box::new(StepFailure {
                                actual: format!("{} (after {attempt} attempts)", f.actual),
                                ..*f
                            }))
                        }
                        Err(_) => {
                            let d = self.backoff(step, *base, attempt - 1);
                            self.sleep(d).await;
                            attempt += 1;
                        }
                    }
                }
            }
            Control::Burst { count, body } => {
                self.target.begin_burst();
                let start = tokio::time::Instant::now();
                let body: Arc<[Step]> = body.clone().into();
                let mut tasks = Vec::new();
                for i in 0..*count {
                    let mut copy = self.clone();
                    copy.copy = mix(self.copy ^ u64::from(i).wrapping_add(1));
                    copy.burst = Some(start);
                    copy.last = Last::Nothing;
                    let body = body.clone();
                    tasks.push(tokio::spawn(async move {
                        copy.steps(&body)
                            .await
                            .map_err(|f| f.exception.unwrap_or_else(|| "ExpectationFailed".into()))
                    }));
                }
                let mut succeeded = 0u32;
                let mut failed: BTreeMap<String, u32> = BTreeMap::new();
                for t in tasks {
                    match t.await {
                        Ok(Ok(())) => succeeded += 1,
                        Ok(Err(exception)) => *failed.entry(exception).or_default() += 1,
                        Err(join) => *failed.entry(format!("TaskFailed: {join}")).or_default() += 1,
                    }
                }
                self.target.end_burst();
                self.last = Last::Response(json!({"Succeeded": succeeded, "Failed": failed}));
                self.last_from = "burst tally".into();
                let _ = step;
                Ok(())
            }
            Control::InRegion { region, body } => {
                let before = self.target.region();
                if let Err(e) = self.target.set_region(Some(region)) {
                    return Err(Self::fail(
                        step,
                        format!("to act in {region}"),
                        format!("{}: {}", e.exception, e.message),
                    ));
                }
                let out = self.steps(body).await;
                // Back where the block started, whatever its steps did.
                let _ = self.target.set_region(before.as_deref());
                out
            }
        }
    }
}

/// One splitmix64 step from `z`: the engine's id generator's draw, used here
/// as a well-spread 64-bit hash of the jitter's inputs.
fn mix(z: u64) -> u64 {
    IdGen::new(z).next_u64()
}

/// The SDKs' `min(b × 2^i, MAX_BACKOFF)` with `b` uniform in `[0, base)`:
/// `r`'s top 53 bits as a fraction of the ceiling `min(base × 2^i, 20 ×
/// base)`.
fn full_jitter(base: Duration, i: u32, r: u64) -> Duration {
    let ceiling = base
        .saturating_mul(1u32 << i.min(20))
        .min(base.saturating_mul(20));
    ceiling.mul_f64((r >> 11) as f64 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_jitter_doubles_its_ceiling_up_to_twenty_bases() {
        let base = Duration::from_millis(100);
        for (i, ceiling_ms) in [
            (0, 100),
            (1, 200),
            (2, 400),
            (3, 800),
            (4, 1600),
            (5, 2000),
            (30, 2000),
        ] {
            let ceiling = Duration::from_millis(ceiling_ms);
            let top = full_jitter(base, i, u64::MAX);
            // At nanosecond resolution the top draw may round up to the
            // ceiling.
            assert!(
                top <= ceiling && top > ceiling.mul_f64(0.999),
                "{i}: {top:?}"
            );
            assert_eq!(full_jitter(base, i, 0), Duration::ZERO);
            assert_eq!(full_jitter(base, i, 1 << 63), ceiling / 2);
        }
    }

    #[test]
    fn the_draws_differ_by_seed_and_copy_and_repeat() {
        let draw = |seed: u64, copy: u64| mix(mix(seed ^ 42) ^ mix(copy));
        assert_eq!(draw(1, 0), draw(1, 0));
        assert_ne!(draw(1, 0), draw(2, 0));
        assert_ne!(draw(1, 0), draw(1, 1));
    }
}
