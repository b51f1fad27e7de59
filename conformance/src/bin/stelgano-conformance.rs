//! `stelgano-conformance`: checks a server against sTELgano-std-1.
//!
//! ```text
//! stelgano-conformance run [--target ws://HOST:PORT/ws] [--suite vectors,model,features,timing]
//!                          [--skip FILE] [--junit FILE] [--json FILE] [--strict]
//! stelgano-conformance bench [--smoke] [--rooms N] [--duration SECS] [--idle N] [--joins N]
//!                            [--json FILE] [--charts DIR] [--target ws://HOST:PORT/ws]
//! stelgano-conformance chaos [--duration SECS] [--rooms N] [--faults postgres,server,instance]
//!                            [--drop-chance P] [--seed N] [--json FILE]
//! stelgano-conformance wsfuzz [--duration SECS] [--frames N] [--seed N] [--workers N]
//!                             [--target ws://HOST:PORT/ws] [--database-url URL]
//! ```
//!
//! Without `--target` it starts the reference server (with a private
//! PostgreSQL) and checks that. See `conformance/README.md`.

#![forbid(unsafe_code)]

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
use stelgano_conformance::timing::{self, TimingSettings};

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
    Run(Box<RunArgs>),
    /// Lists every requirement with the code and the checks that cite it;
    /// fails when a MUST requirement of servers has no check.
    Coverage(CoverageArgs),
    /// Measures a server under load with the real protocol, beside its
    /// baselines (issue 8): reply throughput and latency, idle
    /// connections, a join storm, two instances on one database.
    Bench(Box<BenchArgs>),
    /// Faults survived (issue 9): racing replies in many rooms while the
    /// reference server's PostgreSQL restarts, the server is killed and
    /// restarted, client connections drop and a second instance dies;
    /// then every room's history is checked. Exit 0 with no violation,
    /// 1 with some, 2 when the run could not be carried out.
    Chaos(ChaosArgs),
    /// Fuzzed frames over WebSocket (issue 9): random and mutated frames
    /// of every kind from many connections, each answer checked against
    /// the spec, beside a room that must come through unchanged. Exit 0
    /// with no violation, 1 with some, 2 when the run could not be set up.
    Wsfuzz(Box<WsfuzzArgs>),
}

#[derive(clap::Args)]
struct ChaosArgs {
    /// Seconds during which faults go on being injected (each at least
    /// once).
    #[arg(long, default_value_t = 60.0)]
    duration: f64,
    /// Rooms, each with two racing parties.
    #[arg(long, default_value_t = 12)]
    rooms: usize,
    /// Process faults, injected in turn, separated by commas.
    #[arg(long, value_enum, value_delimiter = ',',
          default_values = ["postgres", "server", "instance"])]
    faults: Vec<stelgano_conformance::chaos::Fault>,
    /// Chance, per request, that a client drops its connection just
    /// before writing it, and again just after; 0 for none.
    #[arg(long, default_value_t = 0.03)]
    drop_chance: f64,
    /// Seed of the parties' choices; random when absent, and printed.
    #[arg(long)]
    seed: Option<u64>,
    /// Write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(clap::Args)]
struct WsfuzzArgs {
    /// Seconds of sending frames.
    #[arg(long, default_value_t = 20.0)]
    duration: f64,
    /// Stop after this many frames, even before the duration is up.
    #[arg(long)]
    frames: Option<u64>,
    /// Seed of every frame; random when absent, and printed so that a
    /// failure can be replayed.
    #[arg(long)]
    seed: Option<u64>,
    /// Connections sending at once.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// Seconds any one answer may take before the server counts as hung.
    #[arg(long, default_value_t = 10.0)]
    answer_timeout: f64,
    /// A server to fuzz instead of the reference server the command would
    /// start; its rooms must outlive the run.
    #[arg(long)]
    target: Option<String>,
    /// A test-only URL of the `--target`'s database, to compare the victim
    /// room's rows before and after; without `--target` the reference
    /// server's is used instead.
    #[arg(long, env = "STELGANO_CONFORMANCE_DATABASE_URL")]
    database_url: Option<String>,
}

/// Sizes left out take the full run's defaults, or the smoke run's with
/// `--smoke`.
#[derive(clap::Args)]
struct BenchArgs {
    /// A run of about twenty seconds with small sizes, for CI.
    #[arg(long)]
    smoke: bool,
    /// Active rooms of the headline figures [default: 200; smoke: 8].
    #[arg(long)]
    rooms: Option<usize>,
    /// Room counts of the closed-loop ladder, separated by commas
    /// [default: 1,10,50,100,200,400; smoke: 1,8].
    #[arg(long, value_delimiter = ',')]
    ladder: Option<Vec<usize>>,
    /// Seconds of each measurement [default: 10; smoke: 1.5].
    #[arg(long)]
    duration: Option<f64>,
    /// Seconds of warm-up before each measurement [default: 2; smoke: 0.5].
    #[arg(long)]
    warmup: Option<f64>,
    /// Idle joined connections of scenario (b); 0 skips it
    /// [default: 20000; smoke: 200].
    #[arg(long)]
    idle: Option<usize>,
    /// Joins of the join storm; 0 skips it [default: 20000; smoke: 300].
    #[arg(long)]
    joins: Option<u64>,
    /// Clients joining at once in the storm [default: 64; smoke: 8].
    #[arg(long)]
    join_clients: Option<usize>,
    /// The open loop's offered rates, as shares of the highest
    /// closed-loop throughput, separated by commas; the last is the
    /// headline [default: 0.15,0.25,0.5,0.75; smoke: 0.75].
    #[arg(long, value_delimiter = ',')]
    open_loop_shares: Option<Vec<f64>>,
    /// Skip the pgbench baseline.
    #[arg(long)]
    no_pgbench: bool,
    /// Skip the two-instance scenario.
    #[arg(long)]
    no_fanout: bool,
    /// A server to measure (its rate limits off) instead of the reference
    /// server the bench would start.
    #[arg(long)]
    target: Option<String>,
    /// A second instance of the target on the same database, for the
    /// two-instance scenario.
    #[arg(long, requires = "target")]
    target_b: Option<String>,
    /// The target's database, for the pgbench baseline.
    #[arg(long, requires = "target")]
    database_url: Option<String>,
    /// The target's process id, for its CPU time and the idle scenario.
    #[arg(long, requires = "target")]
    server_pid: Option<u32>,
    /// An argument for the reference servers the bench starts (repeat),
    /// e.g. `--server-arg=--db-pool-size=32`.
    #[arg(long, allow_hyphen_values = true)]
    server_arg: Vec<String>,
    /// Write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write throughput.svg and latency.svg into this directory.
    #[arg(long)]
    charts: Option<PathBuf>,
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
    /// The room model's traces, random walks and linearizability rounds.
    Model,
    /// The threat model's scenarios (`features/`).
    Features,
    /// Whether join reply times tell outcomes apart (STD1-JOIN-21).
    Timing,
    /// The web client in headless Chromium (needs chromium, chromedriver
    /// and axe-core; skipped with a notice where they are missing, failed
    /// where `CI=true`).
    Browser,
}

#[derive(clap::Args)]
struct RunArgs {
    /// WebSocket URL of the server to check; without it the reference
    /// server is started and checked.
    #[arg(long)]
    target: Option<String>,
    /// Suites to run, separated by commas.
    #[arg(long, value_enum, value_delimiter = ',',
          default_values = ["vectors", "model", "features", "timing", "browser"])]
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
    /// Local addresses parties A, B and M connect from (three, separated
    /// by commas), each a network origin of its own to the target
    /// (STD1-JOIN-22). By default 127.0.0.11 to .13 for a loopback target;
    /// for any other target the traces that join during a lock are skipped
    /// unless these are given.
    #[arg(long, value_delimiter = ',', num_args = 3)]
    party_addresses: Option<Vec<std::net::IpAddr>>,
    /// A test-only URL of the target's database, for the features that
    /// inspect what a dump would show; without it they are skipped. Set
    /// for the reference server the harness starts.
    #[arg(long, env = "STELGANO_CONFORMANCE_DATABASE_URL")]
    database_url: Option<String>,
    /// The target's log file, for the features that read it as an
    /// operator would; without it they are skipped. Set for the reference
    /// server the harness starts.
    #[arg(long)]
    server_log: Option<PathBuf>,
    /// The `--target`'s join time floor `F` in milliseconds, for the timing
    /// suite (STD1-JOIN-21; 100 is the production minimum). Without
    /// `--target` the harness starts a second reference server with this
    /// floor for the suite.
    #[arg(long, default_value_t = stelgano_conformance::timing::PRODUCTION_MIN_FLOOR_MS)]
    join_floor_ms: u64,
    /// Write a screenshot of each screen the browser suite visits here.
    #[arg(long)]
    screenshots: Option<PathBuf>,
    /// Timing batches per join path; each batch contributes its minimum.
    #[arg(long, default_value_t = 40)]
    timing_batches: usize,
    /// Timed joins per batch.
    #[arg(long, default_value_t = 5)]
    timing_batch_size: usize,
    /// The chance a conforming target fails the timing comparisons by bad
    /// luck (split over the six pairs of paths).
    #[arg(long, default_value_t = 0.001)]
    timing_alpha: f64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Command::Run(args) => *args,
        Command::Coverage(args) => return coverage(args),
        Command::Bench(args) => return bench(*args),
        Command::Chaos(args) => return chaos(args),
        Command::Wsfuzz(args) => return wsfuzz(*args),
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
    harness_ids.extend(stelgano_conformance::timing::REQUIREMENTS);
    harness_ids.extend(stelgano_conformance::browser::requirements());
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

/// The `chaos` command.
fn chaos(args: ChaosArgs) -> ExitCode {
    use stelgano_conformance::chaos::{self, ChaosOptions};
    let duration = match Duration::try_from_secs_f64(args.duration) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: --duration {}: {e}", args.duration);
            return ExitCode::from(2);
        }
    };
    let seed = match args.seed.map_or_else(getrandom::u64, Ok) {
        Ok(seed) => seed,
        Err(e) => {
            eprintln!("error: no randomness for the seed: {e}");
            return ExitCode::from(2);
        }
    };
    let mut options = ChaosOptions::new(duration, seed);
    options.rooms = args.rooms;
    options.faults = args.faults;
    options.drop_chance = args.drop_chance;
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    println!("chaos: seed {seed}; starting the reference server");
    let report = match runtime.block_on(chaos::run(&options)) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    print!("{}", report.summary());
    if let Some(path) = &args.json {
        let written = serde_json::to_string_pretty(&report)
            .map_err(anyhow::Error::from)
            .and_then(|text| std::fs::write(path, text).map_err(anyhow::Error::from));
        if let Err(e) = written {
            eprintln!("error: writing {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The `wsfuzz` command.
fn wsfuzz(args: WsfuzzArgs) -> ExitCode {
    use stelgano_conformance::wsfuzz::{self, Options};
    let seconds = |s: f64| Duration::try_from_secs_f64(s).map_err(|e| format!("{s} s: {e}"));
    let durations = seconds(args.duration).and_then(|d| Ok((d, seconds(args.answer_timeout)?)));
    let (duration, answer_timeout) = match durations {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let seed = match args.seed.map_or_else(getrandom::u64, Ok) {
        Ok(seed) => seed,
        Err(e) => {
            eprintln!("error: no randomness for the seed: {e}");
            return ExitCode::from(2);
        }
    };
    let options = Options {
        duration,
        max_frames: args.frames,
        workers: args.workers,
        answer_timeout,
        database_url: args.database_url.clone(),
        ..Options::new(seed)
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    println!("wsfuzz: seed {seed} (replay with --seed {seed})");
    let outcome = runtime.block_on(async {
        let reference;
        let (url, options) = match &args.target {
            Some(url) => (url.clone(), options),
            None => {
                println!("starting the reference server");
                // Rooms that outlive the run, so that the victim's is
                // still there to compare; production's logging level.
                let settings = ReferenceSettings {
                    room_ttl_seconds: 3600,
                    log_filter: "info".to_owned(),
                    ..ReferenceSettings::default()
                };
                reference = ReferenceServer::start(&settings)
                    .await
                    .map_err(|e| e.to_string())?;
                let options = Options {
                    database_url: Some(reference.database_url()),
                    ..options
                };
                (reference.url(), options)
            }
        };
        wsfuzz::run(&url, &options).await.map_err(|e| e.to_string())
    });
    match outcome {
        Ok(summary) => {
            print!("{}", summary.render());
            if summary.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// The `bench` command: exit 0 when every scenario ran, 1 when one
/// failed, 2 when the bench could not start.
fn bench(args: BenchArgs) -> ExitCode {
    use stelgano_conformance::bench;
    let mut options = if args.smoke {
        bench::Options::smoke()
    } else {
        bench::Options::full()
    };
    let seconds = |s: f64| Duration::try_from_secs_f64(s).map_err(|e| format!("{s} s: {e}"));
    let durations = args
        .duration
        .map(seconds)
        .transpose()
        .and_then(|d| Ok((d, args.warmup.map(seconds).transpose()?)));
    match durations {
        Ok((duration, warmup)) => {
            options.measure = duration.unwrap_or(options.measure);
            options.warmup = warmup.unwrap_or(options.warmup);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    options.rooms = args.rooms.unwrap_or(options.rooms);
    options.ladder = args.ladder.unwrap_or(options.ladder);
    options.idle = args.idle.unwrap_or(options.idle);
    options.joins = args.joins.unwrap_or(options.joins);
    options.join_clients = args.join_clients.unwrap_or(options.join_clients);
    options.open_loop_shares = args.open_loop_shares.unwrap_or(options.open_loop_shares);
    options.pgbench = !args.no_pgbench;
    options.fanout = !args.no_fanout;
    options.target = args.target;
    options.target_b = args.target_b;
    options.database_url = args.database_url;
    options.server_pid = args.server_pid;
    options.server_args = args.server_arg;
    options.json = args.json;
    options.charts = args.charts;
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(bench::run(&options)) {
        Ok(report) => {
            print!("{}", bench::table::render(&report));
            if report.errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
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
    // The corpus fixes the parties' PINs and the lockout `L` the target's
    // test configuration must have; every suite uses them.
    let (pins, lockout_attempts) = (corpus.pins.clone(), corpus.lockout_attempts);

    let reference;
    let target = match &args.target {
        Some(url) => Target {
            url: url.clone(),
            database_url: args.database_url.clone(),
            server_log: args.server_log.clone(),
        },
        None => {
            println!("starting the reference server");
            reference = ReferenceServer::start(&ReferenceSettings {
                lockout_attempts: corpus.lockout_attempts,
                ..ReferenceSettings::default()
            })
            .await?;
            Target {
                url: reference.url(),
                database_url: Some(reference.database_url()),
                server_log: Some(reference.log_path().to_path_buf()),
            }
        }
    };
    let mut report = Report {
        target: target.url.clone(),
        results: Vec::new(),
    };
    let started = Instant::now();

    if args.suite.contains(&Suite::Vectors) {
        report
            .results
            .extend(surface::run(&target.url, &corpus.pins[0]).await);
    }
    if args.suite.contains(&Suite::Model) {
        let results = run_model(&args, &target.url, corpus, &skips).await?;
        report.results.extend(results);
    }
    if args.suite.contains(&Suite::Features) {
        let results = stelgano_conformance::features::run(
            stelgano_conformance::features::FeatureTarget {
                url: target.url.clone(),
                database_url: target.database_url.clone(),
                log_path: target.server_log.clone(),
                lockout_attempts,
                networks: stelgano_conformance::replay::loopback_party_addresses(&target.url)
                    .is_some(),
            },
            &stelgano_conformance::features::default_dir(),
        )
        .await;
        report.results.extend(results);
    }
    if args.suite.contains(&Suite::Timing) {
        let results = run_timing(&args, &target.url, &pins, lockout_attempts).await?;
        report.results.extend(results);
    }
    if args.suite.contains(&Suite::Browser) {
        let results = run_browser(&args, &target.url).await?;
        report.results.extend(results);
    }
    for r in &mut report.results {
        if let Some(reason) = skips.get(&r.id) {
            r.verdict = Verdict::Skipped(reason.clone());
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

/// What the harness knows of the server it checks.
struct Target {
    url: String,
    database_url: Option<String>,
    server_log: Option<PathBuf>,
}

/// The model suite: the corpus's traces (less skipped ones), random walks
/// and linearizability rounds.
async fn run_model(
    args: &RunArgs,
    url: &str,
    corpus: Corpus,
    skips: &BTreeMap<String, String>,
) -> anyhow::Result<Vec<CheckResult>> {
    let mut results = Vec::new();
    let party_addresses = match &args.party_addresses {
        Some(given) => Some(
            <[std::net::IpAddr; 3]>::try_from(given.as_slice())
                .map_err(|_| anyhow::anyhow!("--party-addresses takes three addresses"))?,
        ),
        None => stelgano_conformance::replay::loopback_party_addresses(url),
    };
    let setup = Setup {
        url: url.to_owned(),
        pins: corpus.pins.clone(),
        typo_pin: corpus.typo_pin.clone(),
        frame_timeout: Duration::from_secs(10),
        expiry_grace: Duration::from_secs(args.expiry_grace),
        party_addresses,
    };
    // Skipped traces are not replayed at all; the verdicts are set later.
    let (skipped, traces): (Vec<_>, Vec<_>) = corpus
        .traces
        .into_iter()
        .partition(|t| skips.contains_key(&format!("model/{}", t.id)));
    for t in skipped {
        results.push(CheckResult::new(
            "model",
            &t.id,
            t.requirements.into_iter().collect(),
            Verdict::Skipped(String::new()),
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
        (0..args.walks)
            .map(|i| stelgano_model::trace::random_walk(&model, seed.wrapping_add(i), WALK_STEPS)),
    );
    let (races, rounds) = stelgano_conformance::linearizable::run(
        url,
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
    results.extend(races);
    // Without a network per party, a join during a lock cannot be told
    // from one on the guesser's network: such traces are skipped, saying
    // why, rather than failed.
    let (traces, unreplayable): (Vec<_>, Vec<_>) = traces.into_iter().partition(|t| {
        party_addresses.is_some() || !stelgano_conformance::replay::needs_networks(t)
    });
    for t in unreplayable {
        results.push(CheckResult::new(
            "model",
            &t.id,
            t.requirements.into_iter().collect(),
            Verdict::Skipped(
                "joins during a lock: needs an address per party (--party-addresses)".into(),
            ),
            Duration::ZERO,
        ));
    }
    let replayed = replay_all(&setup, &traces, args.concurrency).await;
    for (trace, result) in traces.iter().zip(replayed) {
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
            check.failed_requirements = d.requirements;
        }
        results.push(check);
    }
    Ok(results)
}

/// The timing suite, against the target, or without one against a second
/// reference server with a production floor (the first runs without one,
/// which the model suite only waits for).
async fn run_timing(
    args: &RunArgs,
    url: &str,
    pins: &[String; 3],
    lockout_attempts: u64,
) -> anyhow::Result<Vec<CheckResult>> {
    let timed;
    let (url, floor_ms) = match &args.target {
        Some(_) => (url.to_owned(), args.join_floor_ms),
        None => {
            println!("starting a reference server with a time floor for the timing suite");
            let settings = ReferenceSettings {
                lockout_attempts,
                join_time_floor_ms: args.join_floor_ms,
                ..ReferenceSettings::for_timing()
            };
            timed = ReferenceServer::start(&settings).await?;
            (timed.url(), args.join_floor_ms)
        }
    };
    let settings = TimingSettings {
        floor: Duration::from_millis(floor_ms),
        batches: args.timing_batches,
        batch_size: args.timing_batch_size,
        alpha: args.timing_alpha,
        lockout_attempts,
    };
    let (results, summary) = timing::run(&url, pins, &settings).await;
    println!(
        "timing: {} create/join replies, fastest {:.1} ms (floor {floor_ms} ms); largest KS D = {:.3} ({}), smallest p = {:.4}",
        summary.replies,
        summary.fastest.as_secs_f64() * 1000.0,
        summary.max_d,
        summary.max_d_pair,
        summary.min_p
    );
    Ok(results)
}

/// The browser suite, against the target, or without one against a
/// reference server with production-like settings. Where the browsers or
/// axe-core are missing it is skipped, loudly, unless `CI=true` or
/// `STELGANO_BROWSER_REQUIRED` make it mandatory.
async fn run_browser(args: &RunArgs, url: &str) -> anyhow::Result<Vec<CheckResult>> {
    use stelgano_conformance::browser;
    let (browsers, axe_source) = match browser::available() {
        Ok(found) => found,
        Err(e) => {
            let required = std::env::var("CI").is_ok_and(|v| v == "true")
                || std::env::var_os("STELGANO_BROWSER_REQUIRED").is_some();
            let verdict = if required {
                Verdict::Fail(format!("the browser suite is mandatory here: {e}"))
            } else {
                eprintln!("\n*** the browser suite is SKIPPED: {e} ***\n");
                Verdict::Skipped(e.to_string())
            };
            return Ok(vec![CheckResult::new(
                "browser",
                "available",
                vec!["STD1-CLI-1".into()],
                verdict,
                Duration::ZERO,
            )]);
        }
    };
    let served;
    // The administration page's credentials are known only for the
    // reference server started here; a `--target`'s page is not looked at.
    let (url, admin) = match &args.target {
        Some(_) => (url.to_owned(), None),
        None => {
            println!(
                "starting a reference server with production-like settings for the browser suite"
            );
            let settings = ReferenceSettings::for_browser();
            served = ReferenceServer::start(&settings).await?;
            (served.url(), settings.admin_credentials())
        }
    };
    let (results, summary) = browser::run(
        &url,
        &browsers,
        axe_source,
        args.screenshots.clone(),
        admin.as_ref(),
    )
    .await;
    println!(
        "browser: submit to screen {}; blindness: {} bytes and {} WebSocket frames read; {} screenshots; administration page: {}",
        summary
            .timings
            .iter()
            .map(|(step, t)| format!("{step} {:.2} s", t.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", "),
        summary.bytes_inspected,
        summary.frames_inspected,
        summary.screenshots.len(),
        summary.admin
    );
    Ok(results)
}
