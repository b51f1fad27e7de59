//! Turns cucumber's events into one verdict per scenario.
//!
//! A writer rather than an `after` hook: the hook learns that a step
//! failed but not which one, and nothing at all of a feature file that
//! does not parse. The writer sees every step's event, so a verdict can
//! name the step, and an undefined step (cucumber's "skipped") fails its
//! scenario instead of passing it silently.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use cucumber::event::{self, Cucumber, Feature, RetryableScenario, Rule, Scenario, Step};
use cucumber::{Event, World, gherkin, parser, writer};

use crate::report::{CheckResult, Verdict};

/// A scenario, by the file it is in and its line there.
type ScenarioKey = (String, usize);

/// How one scenario is going.
struct Running {
    name: String,
    tags: Vec<String>,
    started: Instant,
    failure: Option<String>,
}

/// Collects verdicts; read them with [`Collector::into_results`].
#[derive(Default)]
pub struct Collector {
    running: HashMap<ScenarioKey, Running>,
    results: Vec<CheckResult>,
}

/// `pin-guessing/a-locked-room-refuses-the-right-pin`: the file's stem and
/// the scenario's name in lowercase words joined by hyphens.
pub fn check_name(feature: &gherkin::Feature, scenario: &gherkin::Scenario) -> String {
    let stem = feature
        .path
        .as_ref()
        .and_then(|p| p.file_stem())
        .map_or_else(
            || "unnamed".to_owned(),
            |s| s.to_string_lossy().into_owned(),
        );
    let slug = scenario
        .name
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    format!("{stem}/{slug}")
}

/// The requirement IDs a scenario is tagged with, its feature's included.
pub fn requirement_tags(feature: &gherkin::Feature, scenario: &gherkin::Scenario) -> Vec<String> {
    let mut tags: Vec<String> = feature
        .tags
        .iter()
        .chain(&scenario.tags)
        .filter(|t| t.starts_with("STD1-"))
        .cloned()
        .collect();
    tags.dedup();
    tags
}

fn key(feature: &gherkin::Feature, scenario: &gherkin::Scenario) -> ScenarioKey {
    let path = feature
        .path
        .as_ref()
        .map_or_else(String::new, |p| p.display().to_string());
    (path, scenario.position.line)
}

/// The text of a step failure: the message our steps fail with, or
/// cucumber's own description.
fn describe(error: &event::StepError) -> String {
    if let event::StepError::Panic(payload) = error {
        if let Some(text) = payload.downcast_ref::<String>() {
            return text.clone();
        }
        if let Some(text) = payload.downcast_ref::<&str>() {
            return (*text).to_owned();
        }
    }
    error.to_string()
}

impl Collector {
    /// Every verdict, in the order the scenarios finished.
    pub fn into_results(self) -> Vec<CheckResult> {
        self.results
    }

    fn scenario<W>(
        &mut self,
        feature: &gherkin::Feature,
        scenario: &gherkin::Scenario,
        event: Scenario<W>,
    ) {
        let key = key(feature, scenario);
        match event {
            Scenario::Started => {
                self.running.insert(
                    key,
                    Running {
                        name: check_name(feature, scenario),
                        tags: requirement_tags(feature, scenario),
                        started: Instant::now(),
                        failure: None,
                    },
                );
            }
            Scenario::Hook(kind, event::Hook::Failed(_, info)) => {
                let text = info
                    .downcast_ref::<String>()
                    .cloned()
                    .unwrap_or_else(|| "it panicked".to_owned());
                self.fail(&key, format!("{kind} hook: {text}"));
            }
            Scenario::Step(step, event) | Scenario::Background(step, event) => {
                let text = format!("{}{}", step.keyword, step.value);
                match event {
                    Step::Failed(_, _, _, error) => {
                        self.fail(
                            &key,
                            format!("step `{}`: {}", text.trim(), describe(&error)),
                        );
                    }
                    Step::Skipped => self.fail(
                        &key,
                        format!("step `{}`: no step definition matches it", text.trim()),
                    ),
                    Step::Started | Step::Passed(..) => {}
                }
            }
            Scenario::Finished => {
                if let Some(run) = self.running.remove(&key) {
                    let verdict = run.failure.map_or(Verdict::Pass, Verdict::Fail);
                    self.results.push(CheckResult::new(
                        "features",
                        &run.name,
                        run.tags,
                        verdict,
                        run.started.elapsed(),
                    ));
                }
            }
            Scenario::Hook(..) | Scenario::Log(_) => {}
        }
    }

    /// Keeps the first failure of a scenario: later ones follow from it.
    fn fail(&mut self, key: &ScenarioKey, why: String) {
        if let Some(run) = self.running.get_mut(key) {
            run.failure.get_or_insert(why);
        }
    }
}

impl<W: World> cucumber::Writer<W> for Collector {
    type Cli = cucumber::cli::Empty;

    async fn handle_event(&mut self, event: parser::Result<Event<Cucumber<W>>>, _: &Self::Cli) {
        let value = match event {
            Ok(event) => event.value,
            Err(error) => {
                // A feature file that does not parse fails as a check of
                // its own rather than vanishing from the run.
                self.results.push(CheckResult::new(
                    "features",
                    &format!("unparsable-{}", self.results.len() + 1),
                    Vec::new(),
                    Verdict::Fail(error.to_string()),
                    Duration::ZERO,
                ));
                return;
            }
        };
        if let Cucumber::Feature(feature, event) = value {
            let (scenario, RetryableScenario { event, .. }) = match event {
                Feature::Scenario(s, e) | Feature::Rule(_, Rule::Scenario(s, e)) => (s, e),
                _ => return,
            };
            self.scenario(&feature, &scenario, event);
        }
    }
}

/// Events are handled as they come, keyed by scenario, so the order in
/// which concurrent scenarios interleave does not matter.
impl writer::Normalized for Collector {}
