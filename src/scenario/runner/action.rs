//! Actions: an AWS operation, a CloudHSM CLI line, a fault, the clock; and
//! whether a failed action is what the next step expects.

use serde_json::{json, Value};

use super::expect::show;
use super::{Ctx, Last, StepFailure};
use crate::scenario::ir::{Action, Expect, Step, StepKind};
use crate::scenario::outcome::Recorded;
use crate::scenario::target::AwsError;

impl Ctx {
    pub(super) async fn action(&mut self, step: &Step, a: &Action) -> Result<(), Box<StepFailure>> {
        let sub = |ctx: &Ctx, v: &str| {
            ctx.subst_str(v)
                .map_err(|e| Self::fail(step, "defined variables", e))
        };
        match a {
            Action::Call { operation, input } => {
                let input = self
                    .subst(input)
                    .map_err(|e| Self::fail(step, "defined variables", e))?;
                let r = self.target.call(operation, input.clone());
                self.last_from = format!("{operation} response");
                if operation == "DescribeCustomKeyStores" {
                    self.record(step, &r);
                }
                // A store made or renamed by the scenario gets its variable
                // too, so `connect NewStore` works like a world's store.
                if r.is_ok()
                    && matches!(
                        operation.as_str(),
                        "CreateCustomKeyStore" | "UpdateCustomKeyStore"
                    )
                {
                    self.bind_store_names();
                }
                self.last = match r {
                    Ok(v) => Last::Response(v),
                    Err(e) => Last::Error(e),
                };
            }
            Action::Cli {
                cluster,
                session,
                line,
                answers,
            } => {
                let cluster = sub(self, cluster)?;
                let line = sub(self, line)?;
                let answers = answers
                    .iter()
                    .map(|a| sub(self, a))
                    .collect::<Result<Vec<_>, _>>()?;
                self.last = Last::Cli(self.target.cli(&cluster, session, &line, &answers));
                self.last_from = "CloudHSM CLI response".into();
            }
            Action::Fault(f) => {
                let f = self
                    .subst_fault(f)
                    .map_err(|e| Self::fail(step, "defined variables", e))?;
                self.last_from = "fault's response".into();
                self.last = match self.target.fault(&f) {
                    Ok(v) => Last::Response(v),
                    Err(e) => Last::Error(e),
                };
            }
            Action::Wait(d) => {
                self.sleep(*d).await;
                self.last = Last::Response(json!({}));
                self.last_from = "wait response".into();
            }
            Action::Settle => {
                self.target.settle();
                self.last = Last::Response(json!({}));
                self.last_from = "settle response".into();
            }
        }
        Ok(())
    }

    /// A failed action stops the scenario unless the next step expects it.
    pub(super) fn check_action_outcome(
        &self,
        step: &Step,
        next: Option<&Step>,
    ) -> Result<(), Box<StepFailure>> {
        let expects_error = matches!(
            next.map(|n| &n.kind),
            Some(StepKind::Expect(
                Expect::Error { .. } | Expect::AnyError { .. } | Expect::CliError { .. }
            ))
        );
        match &self.last {
            Last::Error(e) if !expects_error => Err(Box::new(StepFailure {
                exception: Some(e.exception.clone()),
                ..*Self::fail(step, "success", format!("{}: {}", e.exception, e.message))
            })),
            Last::Cli(env) if !expects_error && env["error_code"] != json!(0) => {
                Err(Box::new(StepFailure {
                    exception: Some("CloudHsmCliError".into()),
                    ..*Self::fail(step, "error_code 0", env.to_string())
                }))
            }
            Last::Error(_) | Last::Cli(_) | Last::Response(_) | Last::Nothing => Ok(()),
        }
    }

    /// `expect error`: the last action failed with `exception` (any AWS
    /// exception for `None`), its message containing `message`.
    pub(super) fn expect_error(
        &self,
        step: &Step,
        exception: Option<&String>,
        message: Option<&str>,
    ) -> Result<(), Box<StepFailure>> {
        let name = exception.map_or("an AWS error", String::as_str);
        let want = match message {
            Some(m) => format!("{name} with a message containing {m:?}"),
            None => name.to_owned(),
        };
        match &self.last {
            Last::Error(e)
                if exception.is_none_or(|x| e.exception == *x)
                    && message.is_none_or(|m| e.message.contains(m)) =>
            {
                Ok(())
            }
            Last::Error(e) => Err(Self::fail(
                step,
                want,
                format!("{}: {}", e.exception, e.message),
            )),
            Last::Response(v) | Last::Cli(v) => {
                Err(Self::fail(step, want, format!("success: {}", show(v))))
            }
            Last::Nothing => Err(Self::fail(step, want, "no action has run yet")),
        }
    }

    pub(super) fn record(&self, step: &Step, r: &Result<Value, AwsError>) {
        self.describes.lock().push(Recorded {
            line: step.span.line,
            step: step.text.clone(),
            canonical: step.kind.canonical(),
            response: r
                .clone()
                .map_err(|e| (e.exception.clone(), e.message.clone())),
        });
    }
}
