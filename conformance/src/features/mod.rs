//! The `features` suite: the threat model's scenarios (`features/*.feature`,
//! Gherkin), each tagged with the requirement IDs it checks, run with
//! cucumber against a target. One check per scenario.
//!
//! Scenarios tagged `@database` read the target's database through a
//! test-only DSN, and those tagged `@operator-log` read its log file; only
//! the reference server, which the harness starts itself, offers either,
//! so against other targets they are reported skipped and not run. Those
//! tagged `@networks` connect people from distinct loopback addresses, and
//! are skipped for a target elsewhere.

mod outcome;
mod steps;
mod world;

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use cucumber::{Cucumber, World, cli, parser, runner};

use crate::report::{CheckResult, Verdict};
use world::FeatureWorld;

/// What the scenarios run against.
#[derive(Debug, Clone)]
pub struct FeatureTarget {
    /// `ws://host:port/ws`.
    pub url: String,
    /// A test-only DSN of the target's database (reference server only).
    pub database_url: Option<String>,
    /// The target's log file (reference server only).
    pub log_path: Option<PathBuf>,
    /// The target's lockout setting `L` (STD1-JOIN-18); the corpus uses 3.
    pub lockout_attempts: u64,
    /// Whether people may connect from local addresses of their own, each
    /// a network origin to the target (STD1-JOIN-22): true for a target on
    /// this machine's loopback.
    pub networks: bool,
}

/// How many scenarios run at once: enough to overlap the lock and
/// lifetime waits, few enough not to crowd a small machine.
const MAX_CONCURRENT_SCENARIOS: usize = 32;

/// The target of the run in progress. Cucumber makes each scenario's
/// world with `World::new()`, which takes no arguments, so the world
/// reads the target from here.
static TARGET: Mutex<Option<Arc<FeatureTarget>>> = Mutex::new(None);

/// Held for the whole of a run, so that runs in one process take turns
/// instead of swapping each other's target.
static RUN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Why a scenario's world could not be made.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    #[error("no features run is in progress")]
    NoTarget,
    #[error(transparent)]
    Setup(#[from] world::StepFailure),
}

impl World for FeatureWorld {
    type Error = WorldError;

    async fn new() -> Result<Self, WorldError> {
        let target = TARGET
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(WorldError::NoTarget)?;
        Ok(FeatureWorld::new(target)?)
    }
}

/// The default features folder: `features/` at the repository's root.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")))
        .join("features")
}

/// Why a scenario is not run against `target`, if it is not.
fn skip_reason(target: &FeatureTarget, tags: &[String]) -> Option<&'static str> {
    if tags.iter().any(|t| t == "database") && target.database_url.is_none() {
        Some("needs the database URL")
    } else if tags.iter().any(|t| t == "operator-log") && target.log_path.is_none() {
        Some("needs the operator log")
    } else if tags.iter().any(|t| t == "networks") && !target.networks {
        Some("needs a local address per network (a loopback target)")
    } else {
        None
    }
}

/// Runs every scenario of `dir` (the `features/` folder) against `target`;
/// one check per scenario.
///
/// Runs in one process are serialised: the scenarios' worlds find the
/// target in a process-wide slot, so a second call waits until the first
/// has finished. Cucumber runs the scenarios as futures on the calling
/// task (the returned future is not `Send`); the caller must be inside a
/// Tokio runtime. While it runs, cucumber silences the process's panic
/// hook, which is how failing steps stay off the console.
pub async fn run(target: FeatureTarget, dir: &Path) -> Vec<CheckResult> {
    let _turn = RUN.lock().await;
    let target = Arc::new(target);
    *TARGET.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&target));

    // Scenarios the target cannot serve are reported, not run.
    let skipped: Rc<std::cell::RefCell<Vec<CheckResult>>> = Rc::default();
    let filter = {
        let skipped = Rc::clone(&skipped);
        let target = Arc::clone(&target);
        move |feature: &cucumber::gherkin::Feature,
              rule: Option<&cucumber::gherkin::Rule>,
              scenario: &cucumber::gherkin::Scenario| {
            let tags: Vec<String> = feature
                .tags
                .iter()
                .chain(rule.iter().flat_map(|r| &r.tags))
                .chain(&scenario.tags)
                .cloned()
                .collect();
            match skip_reason(&target, &tags) {
                None => true,
                Some(why) => {
                    skipped.borrow_mut().push(CheckResult::new(
                        "features",
                        &outcome::check_name(feature, scenario),
                        outcome::requirement_tags(feature, scenario),
                        Verdict::Skipped(why.to_owned()),
                        Duration::ZERO,
                    ));
                    false
                }
            }
        }
    };

    let collector = Cucumber::<
        FeatureWorld,
        parser::Basic,
        PathBuf,
        runner::Basic<FeatureWorld>,
        outcome::Collector,
    >::custom(
        parser::Basic::new(),
        runner::Basic::default(),
        outcome::Collector::default(),
    )
    .steps(steps::collection())
    .max_concurrent_scenarios(MAX_CONCURRENT_SCENARIOS)
    // The process's own command line belongs to whoever called us.
    .with_cli(cli::Opts::<_, _, _, cli::Empty>::default())
    .filter_run(dir.to_path_buf(), filter)
    .await;

    *TARGET.lock().unwrap_or_else(PoisonError::into_inner) = None;
    let mut results = skipped.take();
    results.extend(collector.into_results());
    results.sort_by(|a, b| a.id.cmp(&b.id));
    results
}
