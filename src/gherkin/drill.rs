//! Running features with the `cucumber` crate, on the one runner.
//!
//! [`cucumber()`] registers the catalog with cucumber, once: every phrase's
//! regex as a Given, When and Then step, all with one step function. The
//! `before` hook lowers the scenario cucumber is about to run (with
//! [`super::lower`], exactly as `hsmdrill run` does) and starts a
//! [`Session`] on its world; each Gherkin step then executes, through the
//! session, exactly the IR steps whose span is that step's line, and fails
//! with the rendered failure (`feature:line:column`, the step underlined,
//! expected, actual) when the session reports one. The step that holds the
//! scenario's last IR step finishes the session; the `after` hook checks the
//! DescribeCustomKeyStores snapshot with insta, named after the feature file
//! and the scenario (`features/snapshots/<stem>__<scenario>.snap`).
//!
//! Sessions run on their own current-thread tokio runtime, so cucumber is
//! driven by `futures::executor::block_on` ([`run`], [`run_with`]), never
//! inside tokio.
//!
//! [`run_with`] takes cucumber's own command line ([`Opts`]: `--tags`,
//! `--name`, `--concurrency`, `--fail-fast`, `--color`, …) and one more
//! filter; [`run`] is the same with cucumber's defaults and no filter.

use std::convert::Infallible;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cucumber::gherkin as g;
use cucumber::runner::basic::{AfterHookFn, BeforeHookFn};
use cucumber::step::Context;
use cucumber::tag::Ext as _;
use cucumber::writer::{self, Coloring, Verbosity};
use cucumber::{cli, event, parser, runner, step, Cucumber, StatsWriter as _, WriterExt as _};
use futures::future::LocalBoxFuture;

use super::catalog::catalog;
use super::lower::lower_scenario;
use crate::scenario::diagnostic::{render_all, Diagnostic};
use crate::scenario::ir::{Scenario, StepKind};
use crate::scenario::outcome::{Failure, Outcome};
use crate::scenario::runner::Session;
use crate::scenario::snapshot;

/// The cucumber world of one scenario: the scenario lowered to IR and the
/// session running it.
#[derive(Default)]
pub struct Drill {
    /// The feature file, relative to the current directory when it can be.
    file: PathBuf,
    /// Its text, for the snippets of failures.
    source: Arc<str>,
    /// The scenario, or why it does not lower.
    scenario: Option<Result<Scenario, Vec<Diagnostic>>>,
    /// The running scenario, until its last step (or the `after` hook).
    session: Option<Session>,
    /// What the finished session gave.
    outcome: Option<Outcome>,
}

impl fmt::Debug for Drill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scenario = match &self.scenario {
            Some(Ok(s)) => s.name.as_str(),
            Some(Err(_)) => "(does not lower)",
            None => "(not started)",
        };
        f.debug_struct("Drill")
            .field("file", &self.file)
            .field("scenario", &scenario)
            .field("running", &self.session.is_some())
            .finish()
    }
}

impl cucumber::World for Drill {
    type Error = Infallible;

    async fn new() -> Result<Self, Infallible> {
        Ok(Drill::default())
    }
}

/// The writer [`cucumber()`] reports with: cucumber's own pretty output to
/// `Out`, with a summary, skipped (and so undefined) steps counted as
/// failures.
pub type DrillWriter<Out> =
    writer::FailOnSkipped<writer::Summarize<writer::Normalize<Drill, writer::Basic<Out>>>>;

/// A cucumber runner of features on hsmdrill's runner.
pub type DrillCucumber<Out> =
    Cucumber<Drill, parser::Basic, PathBuf, runner::Basic<Drill>, DrillWriter<Out>>;

/// Cucumber's command line for [`DrillCucumber`]: its filters (`--tags`,
/// `--name`), its parser's (`--input`), runner's (`--concurrency`,
/// `--fail-fast`, `--retry`, …) and writer's (`-v`, `--color`) options, and
/// `Custom` ones.
pub type Opts<Custom = cli::Empty> =
    cli::Opts<parser::basic::Cli, runner::basic::Cli, writer::basic::Cli, Custom>;

/// Cucumber with the whole catalog registered, the hooks that lower and
/// run each scenario on the one runner, and cucumber's pretty writer to
/// `out`. Its command line is cucumber's defaults: the process's arguments
/// are not read (give [`run_with`] an [`Opts`] for that).
pub fn cucumber<Out: io::Write + 'static>(out: Out, coloring: Coloring) -> DrillCucumber<Out> {
    let mut steps = step::Collection::new();
    for phrase in catalog() {
        steps = steps
            .given(None, phrase.regex.clone(), dispatch)
            .when(None, phrase.regex.clone(), dispatch)
            .then(None, phrase.regex.clone(), dispatch);
    }
    let before: BeforeHookFn<Drill> = before;
    let after: AfterHookFn<Drill> = after;
    Cucumber::custom(
        parser::Basic::new(),
        runner::Basic::default(),
        writer::Basic::new(out, coloring, Verbosity::Default).summarized(),
    )
    .steps(steps)
    .before(before)
    .after(after)
    .fail_on_skipped()
    .with_default_cli()
}

/// What a cucumber run of features gave.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct Summary {
    /// Steps that passed.
    pub passed_steps: usize,
    /// Steps that failed (undefined and skipped ones included).
    pub failed_steps: usize,
    /// Steps skipped and not counted as failed.
    pub skipped_steps: usize,
    /// Files that did not parse.
    pub parsing_errors: usize,
    /// `before`/`after` hooks that failed (a snapshot that differs).
    pub hook_errors: usize,
    /// Scenarios that passed.
    pub passed_scenarios: usize,
    /// Scenarios that failed.
    pub failed_scenarios: usize,
}

impl Summary {
    /// Every step ran and held, every file parsed, every hook held.
    pub fn passed(&self) -> bool {
        self.failed_steps == 0
            && self.skipped_steps == 0
            && self.parsing_errors == 0
            && self.hook_errors == 0
            && self.failed_scenarios == 0
    }
}

/// Runs the features under `path` (a file or a folder, searched for
/// `*.feature`) with [`cucumber()`], writing cucumber's report to `out`.
pub fn run<Out: io::Write + 'static>(path: &Path, out: Out, coloring: Coloring) -> Summary {
    run_with(
        path,
        out,
        coloring,
        Opts::<cli::Empty>::default(),
        |_, _, _| true,
    )
}

/// [`run`] with cucumber's command line `opts`, running only the scenarios
/// that both its filter (`--tags` or `--name`, when given) and `filter`
/// select; `filter` is asked only about those cucumber's filter selects.
///
/// Cucumber alone would ignore `filter` when `--tags` or `--name` is given;
/// here they combine, so a harness can add its own selection to cucumber's.
pub fn run_with<Out, Custom, F>(
    path: &Path,
    out: Out,
    coloring: Coloring,
    mut opts: Opts<Custom>,
    filter: F,
) -> Summary
where
    Out: io::Write + 'static,
    Custom: clap::Args,
    F: Fn(&g::Feature, Option<&g::Rule>, &g::Scenario) -> bool + 'static,
{
    let own = cucumber_filter(opts.re_filter.take(), opts.tags_filter.take());
    let both = move |feature: &g::Feature, rule: Option<&g::Rule>, scenario: &g::Scenario| {
        own(feature, rule, scenario) && filter(feature, rule, scenario)
    };
    let cucumber = cucumber(out, coloring).with_cli(opts);
    let w = futures::executor::block_on(cucumber.filter_run(path.to_path_buf(), both));
    let scenarios = w.inner_writer().scenarios_stats();
    Summary {
        passed_steps: w.passed_steps(),
        failed_steps: w.failed_steps(),
        skipped_steps: w.skipped_steps(),
        parsing_errors: w.parsing_errors(),
        hook_errors: w.hook_errors(),
        passed_scenarios: scenarios.passed,
        failed_scenarios: scenarios.failed,
    }
}

/// Cucumber's own `--name` or `--tags` filter, as `filter_run` applies it:
/// the scenario's name matches the regex, or the tags of its feature, rule
/// and scenario (examples included) satisfy the expression.
pub fn cucumber_filter(
    name: Option<regex::Regex>,
    tags: Option<g::tagexpr::TagOperation>,
) -> impl Fn(&g::Feature, Option<&g::Rule>, &g::Scenario) -> bool + 'static {
    move |feature, rule, scenario| {
        let by_name = name.as_ref().is_none_or(|re| re.is_match(&scenario.name));
        let by_tags = tags.as_ref().is_none_or(|t| {
            t.eval(
                feature
                    .tags
                    .iter()
                    .chain(rule.iter().flat_map(|r| &r.tags))
                    .chain(scenario.tags.iter()),
            )
        });
        by_name && by_tags
    }
}

/// The one step function: runs the IR of the step cucumber matched.
#[expect(clippy::panic, reason = "cucumber fails a step by panicking")]
fn dispatch(world: &mut Drill, ctx: Context) -> LocalBoxFuture<'_, ()> {
    Box::pin(async move {
        if let Err(message) = world.step(&ctx.step) {
            panic!("{message}");
        }
    })
}

fn before<'a>(
    feature: &'a g::Feature,
    _rule: Option<&'a g::Rule>,
    scenario: &'a g::Scenario,
    world: &'a mut Drill,
) -> LocalBoxFuture<'a, ()> {
    Box::pin(async move { world.start(feature, scenario) })
}

#[expect(clippy::panic, reason = "cucumber fails a hook by panicking")]
fn after<'a>(
    _feature: &'a g::Feature,
    _rule: Option<&'a g::Rule>,
    _scenario: &'a g::Scenario,
    finished: &'a event::ScenarioFinished,
    world: Option<&'a mut Drill>,
) -> LocalBoxFuture<'a, ()> {
    Box::pin(async move {
        if let Some(world) = world {
            let every_step_passed = matches!(finished, event::ScenarioFinished::StepPassed);
            if let Err(message) = world.finish(every_step_passed) {
                panic!("{message}");
            }
        }
    })
}

impl Drill {
    /// Lowers the scenario and starts its session.
    fn start(&mut self, feature: &g::Feature, scenario: &g::Scenario) {
        let full = feature.path.clone().unwrap_or_default();
        self.file = relative(&full);
        let source = std::fs::read_to_string(&full).unwrap_or_default();
        let key = (scenario.position.line, scenario.position.col);
        let lowered = lower_scenario(&source, &self.file, key).unwrap_or_else(|| {
            Err(vec![Diagnostic::new(
                crate::scenario::ir::Span {
                    file: Arc::from(self.file.display().to_string()),
                    line: key.0,
                    column: key.1,
                    offset: 0,
                    len: 0,
                },
                format!(
                    "no scenario of the feature starts here (`{}`)",
                    scenario.name
                ),
            )])
        });
        self.source = source.into();
        if let Ok(s) = &lowered {
            let setup = s
                .steps
                .first()
                .filter(|st| matches!(st.kind, StepKind::Setup(_)));
            self.session = Some(Session::start(s, &self.file, setup));
        }
        self.scenario = Some(lowered);
    }

    /// Runs the IR steps of the Gherkin step at its line; `Err` is the
    /// rendered failure.
    fn step(&mut self, gherkin: &g::Step) -> Result<(), String> {
        let Drill {
            source,
            scenario,
            session,
            outcome,
            ..
        } = self;
        let scenario = match scenario {
            Some(Ok(s)) => &*s,
            Some(Err(diags)) => {
                return Err(format!(
                    "the scenario does not lower to steps:\n{}",
                    render_all(diags, source)
                ))
            }
            None => return Err("the scenario was not started".into()),
        };
        let line = gherkin.position.line;
        let mine: Vec<usize> = (0..scenario.steps.len())
            .filter(|i| scenario.steps.get(*i).is_some_and(|s| s.span.line == line))
            .collect();
        if mine.is_empty() {
            return Err(format!(
                "internal error: no step of the lowered scenario comes from line {line}"
            ));
        }
        for step in mine.iter().filter_map(|i| scenario.steps.get(*i)) {
            let Some(running) = session.as_mut() else {
                return Err("the scenario has already finished".into());
            };
            let result = match step.kind {
                // The world was built when the session started.
                StepKind::Setup(_) if running.failed() => Err(()),
                StepKind::Setup(_) => Ok(()),
                StepKind::Action(_)
                | StepKind::Expect(_)
                | StepKind::Capture(_)
                | StepKind::Control(_) => running.execute(step).map_err(|_| ()),
            };
            if result.is_err() {
                let finished = session.take().map(Session::finish);
                let message = finished
                    .as_ref()
                    .and_then(|o| o.failure.as_ref())
                    .map_or_else(|| "the step failed".to_owned(), |f| render(f, source));
                *outcome = finished;
                return Err(message);
            }
        }
        if mine.last() == Some(&(scenario.steps.len() - 1)) {
            if let Some(running) = session.take() {
                let finished = running.finish();
                let failure = finished.failure.as_ref().map(|f| render(f, source));
                *outcome = Some(finished);
                if let Some(message) = failure {
                    return Err(message);
                }
            }
        }
        Ok(())
    }

    /// Ends the scenario. A scenario whose every step ran and held has its
    /// snapshot checked with insta (a difference panics there); one that
    /// stopped early (a failed, skipped or undefined step) was reported by
    /// cucumber already.
    fn finish(&mut self, every_step_passed: bool) -> Result<(), String> {
        if let Some(running) = self.session.take() {
            self.outcome = Some(running.finish());
            return Ok(());
        }
        if let Some(outcome) = &self.outcome {
            if every_step_passed && outcome.passed() {
                snapshot::assert_with_insta(outcome, &self.file);
            }
        }
        Ok(())
    }
}

/// A failure as the reports show it: `file:line:column`, the step
/// underlined, expected and actual.
fn render(failure: &Failure, source: &str) -> String {
    failure.render(Some(source))
}

/// The path relative to the current directory, when it is under it.
fn relative(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
}
