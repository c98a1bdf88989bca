//! Control steps: `repeat N`, `retry N every D`, `burst N` (copies run
//! as tokio tasks on virtual time, tallied by outcome) and `in region R`
//! (the target acts in that Region until the block ends), and sleeping on
//! the right clock inside a burst.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::{Ctx, Last, StepFailure};
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
                let mut delay = *base;
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
                            self.sleep(delay).await;
                            delay = delay.saturating_mul(2);
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
                for _ in 0..*count {
                    let mut copy = self.clone();
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
