//! `stelgano-conformance`: checks a server against sTELgano-std-1.
//!
//! ```text
//! stelgano-conformance run [--target ws://HOST:PORT/ws] [--suite vectors,model]
//!                          [--skip FILE] [--junit FILE] [--json FILE] [--strict]
//! ```
//!
//! Without `--target` it starts the reference server (with a private
//! PostgreSQL) and checks that. See `conformance/README.md`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use stelgano_conformance::corpus::{Corpus, default_dir};
use stelgano_conformance::reference::{ReferenceServer, ReferenceSettings};
use stelgano_conformance::replay::{Setup, replay_all};
use stelgano_conformance::report::{CheckResult, Report, Verdict, parse_skip_file};
use stelgano_conformance::surface;

/// Steps of one random walk.
const WALK_STEPS: usize = 30;

#[derive(Parser)]
#[command(name = "stelgano-conformance", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the suites against a target and reports.
    Run(RunArgs),
    /// Lists every requirement with the code and the checks that cite it;
    /// fails when a MUST requirement of servers has no check.
    Coverage(CoverageArgs),
}

#[derive(clap::Args)]
struct CoverageArgs {
    /// The repository's root.
    #[arg(long)]
    root: Option<PathBuf>,
    /// Write the list as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
enum Suite {
    /// The HTTP surface and the invalid-frame catalogue.
    Vectors,
    /// The room model's traces.
    Model,
}

#[derive(clap::Args)]
struct RunArgs {
    /// WebSocket URL of the server to check; without it the reference
    /// server is started and checked.
    #[arg(long)]
    target: Option<String>,
    /// Suites to run, separated by commas.
    #[arg(long, value_enum, value_delimiter = ',', default_values = ["vectors", "model"])]
    suite: Vec<Suite>,
    /// Checks not to run: lines of `suite/name  reason`.
    #[arg(long)]
    skip: Option<PathBuf>,
    /// Write a JUnit XML report here.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Write a JSON report here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Fail the run on failed SHOULD checks too.
    #[arg(long)]
    strict: bool,
    /// Traces replayed at once (each holds up to three connections).
    #[arg(long, default_value_t = 128)]
    concurrency: usize,
    /// The trace corpus (corpus.json and traces.jsonl).
    #[arg(long)]
    traces: Option<PathBuf>,
    /// Random walks over the model replayed after the corpus.
    #[arg(long, default_value_t = 200)]
    walks: u64,
    /// Seed of the first walk (walk i uses seed + i); random when absent,
    /// and printed so that a failure can be replayed.
    #[arg(long)]
    seed: Option<u64>,
    /// Rooms in which both parties race requests, round after round, with
    /// the history checked for linearizability.
    #[arg(long, default_value_t = 8)]
    race_rooms: usize,
    /// Race rounds per room.
    #[arg(long, default_value_t = 50)]
    race_rounds: usize,
    /// Seconds a session may wait for `room_expired` after its room's
    /// expiry time (STD1-LIFE-4 allows 60).
    #[arg(long, default_value_t = 60)]
    expiry_grace: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Command::Run(args) => args,
        Command::Coverage(args) => return coverage(args),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn coverage(args: CoverageArgs) -> ExitCode {
    use stelgano_conformance::coverage;
    let root = args
        .root
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."));
    let mut harness_ids = surface::requirements();
    harness_ids.extend(stelgano_conformance::linearizable::REQUIREMENTS);
    let sites = coverage::collect(&root, &harness_ids);
    print!("{}", coverage::table(&sites));
    if let Some(path) = &args.json {
        let written = serde_json::to_string_pretty(&sites)
            .map_err(anyhow::Error::from)
            .and_then(|text| std::fs::write(path, text).map_err(anyhow::Error::from));
        if let Err(e) = written {
            eprintln!("error: writing {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    let checked = sites.iter().filter(|s| s.checked()).count();
    let musts = sites.iter().filter(|s| s.level == "MUST").count();
    let musts_checked = sites
        .iter()
        .filter(|s| s.level == "MUST" && s.checked())
        .count();
    println!(
        "{checked} of {} requirements checked; MUST: {musts_checked} of {musts}",
        sites.len()
    );
    let missing = coverage::unchecked_musts(&sites);
    if missing.is_empty() {
        ExitCode::SUCCESS
    } else {
        println!(
            "MUST requirements of servers without a check: {}",
            missing.join(", ")
        );
        ExitCode::FAILURE
    }
}

async fn run(args: RunArgs) -> anyhow::Result<bool> {
    let skips = match &args.skip {
        Some(path) => parse_skip_file(
            &std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?,
        )
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
        None => BTreeMap::new(),
    };
    let corpus_dir = args.traces.clone().unwrap_or_else(default_dir);
    let corpus = Corpus::load(&corpus_dir)?;

    let reference;
    let url = match &args.target {
        Some(url) => url.clone(),
        None => {
            println!("starting the reference server");
            reference = ReferenceServer::start(&ReferenceSettings {
                lockout_attempts: corpus.lockout_attempts,
                ..ReferenceSettings::default()
            })
            .await?;
            reference.url()
        }
    };
    let mut report = Report {
        target: url.clone(),
        results: Vec::new(),
    };
    let started = Instant::now();

    if args.suite.contains(&Suite::Vectors) {
        let mut results = surface::run(&url, &corpus.pins[0]).await;
        for r in &mut results {
            if let Some(reason) = skips.get(&r.id) {
                r.verdict = Verdict::Skipped(reason.clone());
            }
        }
        report.results.extend(results);
    }
    if args.suite.contains(&Suite::Model) {
        let setup = Setup {
            url: url.clone(),
            pins: corpus.pins.clone(),
            frame_timeout: Duration::from_secs(10),
            expiry_grace: Duration::from_secs(args.expiry_grace),
        };
        let (skipped, traces): (Vec<_>, Vec<_>) = corpus
            .traces
            .into_iter()
            .partition(|t| skips.contains_key(&format!("model/{}", t.id)));
        for t in skipped {
            let id = format!("model/{}", t.id);
            report.results.push(CheckResult::new(
                "model",
                &t.id,
                t.requirements.into_iter().collect(),
                Verdict::Skipped(skips.get(&id).cloned().unwrap_or_default()),
                Duration::ZERO,
            ));
        }
        let seed = match args.seed {
            Some(seed) => seed,
            None => getrandom::u64().context("no randomness for the walk seed")?,
        };
        println!("random walks: {} from seed {seed}", args.walks);
        let model = stelgano_model::RoomModel::standard();
        let mut traces = traces;
        traces.extend(
            (0..args.walks).map(|i| {
                stelgano_model::trace::random_walk(&model, seed.wrapping_add(i), WALK_STEPS)
            }),
        );
        let (races, rounds) = stelgano_conformance::linearizable::run(
            &url,
            &corpus.pins,
            args.race_rooms,
            args.race_rounds,
            seed,
        )
        .await;
        println!(
            "linearizability: {} rooms, {} rounds, {} operations, {} violations",
            rounds.rooms, rounds.rounds, rounds.operations, rounds.violations
        );
        report.results.extend(races);
        let results = replay_all(&setup, &traces, args.concurrency).await;
        for (trace, result) in traces.iter().zip(results) {
            let verdict = match &result.failure {
                None => Verdict::Pass,
                Some(d) => Verdict::Fail(format!("step {}: {}", d.step, d.message)),
            };
            let mut check = CheckResult::new(
                "model",
                &trace.id,
                trace.requirements.iter().cloned().collect(),
                verdict,
                result.took,
            );
            if let Some(d) = result.failure {
                check.frames = d.frames;
            }
            report.results.push(check);
        }
    }

    print!("{}", report.summary());
    println!("run time: {:.1?}", started.elapsed());
    if let Some(path) = &args.json {
        let json = serde_json::json!({
            "target": report.target,
            "counts": report.counts(),
            "results": report.results,
        });
        std::fs::write(path, serde_json::to_string_pretty(&json)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, report.junit())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    println!("{} passed, {} failed", report.passed(), report.failed());
    Ok(report.success(args.strict))
}
