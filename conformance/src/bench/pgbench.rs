//! The database's ceiling for the transaction one `send_message` makes:
//! pgbench running `conformance/bench/send.pgbench` against a copy of the
//! schema in the server's own PostgreSQL cluster.
//!
//! A reply costs one transaction, so the commit rate of that transaction is
//! the most any server on this database can reach; the load test reports
//! its throughput as a ratio to this figure. The baseline is the server's
//! own send, the one-statement SQL function of
//! `migrations/0003_send_function.sql` (see the script), with parameters of
//! the same sizes and a `new_message` frame built the same way, so the ratio
//! measures what the server adds and nothing else. If the server's send
//! changes shape, the script must change with it.
//!
//! It runs in a database of its own, [`DATABASE`], created and dropped
//! here: notifications only reach listeners of the database they were sent
//! in, so the server (listening in its own database) never sees these
//! events, while the cluster, its WAL and its notification queue are the
//! very ones the server uses.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Executor};
use stelgano_spec::ids::{MessageId, SenderHash};
use stelgano_spec::wire::{Broadcast, Ciphertext, Iv, Message, ServerFrame, Timestamp};

use super::stats::LatencySummary;

/// The pgbench script: one send's statements.
const SCRIPT: &str = include_str!("../../bench/send.pgbench");

/// The scratch database, beside the server's in the same cluster (spelt
/// out in the two statements that create and drop it).
pub const DATABASE: &str = "stelgano_pgbench";

/// Ciphertext size of the baseline's messages (and a sensible size for the
/// load test's, so that both move the same bytes): a short text message
/// plus the 16-byte tag.
pub const CIPHERTEXT_BYTES: usize = 100;

/// The server's notification channel (server/src/store/events.rs).
const CHANNEL: &str = "stelgano_room_events";

/// What one pgbench run does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PgbenchRun {
    /// pgbench clients, each with its own room (capped at the cluster's
    /// free connections).
    pub clients: usize,
    /// Whole seconds, at least one.
    pub duration: Duration,
    /// Whether the sends publish their events. Without, `pg_notify` is
    /// shadowed by a no-op in the scratch database: the difference is what
    /// the notification costs the database.
    pub notify: bool,
    /// Transactions per second to offer on a Poisson schedule (`-R`), for
    /// the database's own latency at the open loop's rates; `None` runs as
    /// fast as the clients can.
    pub rate_per_s: Option<f64>,
}

/// One pgbench run's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PgbenchResult {
    /// pgbench clients, each with its own room.
    pub clients: usize,
    /// Whether the sends published their events.
    pub notify: bool,
    /// The offered rate of a paced run.
    pub rate_per_s: Option<f64>,
    /// Every transaction's latency from pgbench's per-transaction log (from
    /// its scheduled start in a paced run).
    pub latency: LatencySummary,
    /// Transactions completed in the run.
    pub transactions: u64,
    /// Transactions per second, excluding connection time.
    pub tps: f64,
    /// pgbench's average transaction latency.
    pub latency_ms_avg: f64,
    /// The run's length as pgbench was asked (`-T`).
    pub duration_s: f64,
}

/// The database's ceiling for one send's transaction shape: `clients`
/// pgbench clients, one room each, running the send transaction for
/// `duration` (whole seconds, at least one) against a scratch database in
/// the cluster of `database_url` (the reference server's DSN, whose role
/// may create databases). The scratch database is dropped afterwards,
/// whether the run succeeded or not.
///
/// Each pgbench client is a database connection, so `clients` is capped at
/// the connections the cluster has free (the bench's own cluster allows
/// 450, room for its 400-room ladder); the result's `clients` is the number
/// that ran. `notify: false` runs the same function with `pg_notify`
/// shadowed by a no-op, to measure what publishing costs.
pub async fn send_ceiling(database_url: &str, run: PgbenchRun) -> Result<PgbenchResult, String> {
    if run.clients == 0 {
        return Err("pgbench needs at least one client".into());
    }
    let options =
        PgConnectOptions::from_str(database_url).map_err(|e| format!("the database URL: {e}"))?;
    let mut admin = PgConnection::connect_with(&options)
        .await
        .map_err(|e| format!("connecting to the server's database: {e}"))?;
    let run = PgbenchRun {
        clients: run.clients.min(free_connections(&mut admin).await?),
        ..run
    };
    drop_database(&mut admin).await?;
    admin
        .execute("CREATE DATABASE stelgano_pgbench")
        .await
        .map_err(|e| format!("creating {DATABASE}: {e}"))?;
    let outcome = measure(&options, run).await;
    // A failed run still leaves no database behind.
    let dropped = drop_database(&mut admin).await;
    let _ = admin.close().await;
    let result = outcome?;
    dropped?;
    Ok(result)
}

/// Connections pgbench may open: the cluster's `max_connections` less the
/// superuser reserve, the connections open now and headroom for the
/// server's pool to grow to its default size (16).
async fn free_connections(admin: &mut PgConnection) -> Result<usize, String> {
    let free: i64 = sqlx::query_scalar(
        "SELECT current_setting('max_connections')::bigint
              - current_setting('superuser_reserved_connections')::bigint
              - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')
              - 16",
    )
    .fetch_one(&mut *admin)
    .await
    .map_err(|e| format!("reading the cluster's connection limit: {e}"))?;
    match usize::try_from(free) {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("the cluster has no connections to spare for pgbench".into()),
    }
}

/// Drops the scratch database, ending any session pgbench left in it.
async fn drop_database(admin: &mut PgConnection) -> Result<(), String> {
    admin
        .execute("DROP DATABASE IF EXISTS stelgano_pgbench WITH (FORCE)")
        .await
        .map(drop)
        .map_err(|e| format!("dropping {DATABASE}: {e}"))
}

async fn measure(options: &PgConnectOptions, run: PgbenchRun) -> Result<PgbenchResult, String> {
    let scratch = options.clone().database(DATABASE);
    let mut conn = PgConnection::connect_with(&scratch)
        .await
        .map_err(|e| format!("connecting to {DATABASE}: {e}"))?;
    // The server's own migrations, so the baseline pays for the same
    // constraints, indexes and foreign keys.
    sqlx::migrate!("../migrations")
        .run(&mut conn)
        .await
        .map_err(|e| format!("creating the schema in {DATABASE}: {e}"))?;
    let ciphertext = random_bytes(CIPHERTEXT_BYTES)?;
    populate(&mut conn, run.clients, &ciphertext).await?;
    if !run.notify {
        // Found before pg_catalog's by the sessions pgbench opens with
        // `search_path=public,pg_catalog` (see `pgbench`); the server's
        // function is otherwise unchanged.
        conn.execute(
            "CREATE FUNCTION public.pg_notify(text, text) RETURNS void
             LANGUAGE sql AS 'SELECT NULL::void'",
        )
        .await
        .map_err(|e| format!("shadowing pg_notify in {DATABASE}: {e}"))?;
    }
    let _ = conn.close().await;

    let dir = scratch_dir()?;
    let script = dir.join("send.pgbench");
    let outcome: Result<PgbenchResult, String> = async {
        std::fs::write(&script, SCRIPT)
            .map_err(|e| format!("writing {}: {e}", script.display()))?;
        let frame = frame_template(&ciphertext)?;
        let output = pgbench(options, &script, run, &ciphertext, &frame).await?;
        let mut result = parse_output(&output)?;
        result.clients = run.clients;
        result.notify = run.notify;
        result.rate_per_s = run.rate_per_s;
        result.duration_s = run.duration.as_secs().max(1) as f64;
        result.latency = transaction_latencies(&dir)?;
        Ok(result)
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    let result = outcome?;
    every_send_was_sent(&scratch, &result).await?;
    Ok(result)
}

/// Checks that the baseline measured sends, not refusals: each `sent`
/// increments its room's version, so the versions must add up to the
/// transactions pgbench counted (plus at most one per client that pgbench
/// stopped in flight at the end of the run, which may still commit).
async fn every_send_was_sent(
    scratch: &PgConnectOptions,
    result: &PgbenchResult,
) -> Result<(), String> {
    let mut conn = PgConnection::connect_with(scratch)
        .await
        .map_err(|e| format!("connecting to {DATABASE}: {e}"))?;
    let sent: i64 = sqlx::query_scalar("SELECT COALESCE(sum(version - 1), 0)::bigint FROM rooms")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| format!("reading the room versions: {e}"))?;
    let _ = conn.close().await;
    let counted = i64::try_from(result.transactions).unwrap_or(i64::MAX);
    let in_flight = i64::try_from(result.clients).unwrap_or(i64::MAX);
    if sent < counted || sent > counted.saturating_add(in_flight) {
        return Err(format!(
            "pgbench counted {counted} transactions but the rooms took {sent} messages: \
             the baseline's sends were refused"
        ));
    }
    Ok(())
}

/// One room per pgbench client (`md5(client_id)` as its id, which the
/// script computes the same way), each with both access records and a
/// current message by slot 1 (id `md5(client_id/0)`), so the first send is
/// slot 2's reply to it.
async fn populate(
    conn: &mut PgConnection,
    clients: usize,
    ciphertext: &[u8],
) -> Result<(), String> {
    let n = i64::try_from(clients).map_err(|_| "too many clients".to_owned())?;
    let statements = [
        "INSERT INTO rooms (id, room_hash, created_at, ttl_expires_at, version)
         SELECT md5(i::text)::uuid, sha256(('room' || i)::bytea),
                date_trunc('second', now()), date_trunc('second', now()) + interval '1 day', 1
         FROM generate_series(0, $1 - 1) AS i",
        "INSERT INTO access_records
                (room_id, slot, access_hash, sender_sealed, sender_index, created_at)
         SELECT md5(i::text)::uuid, s, sha256(('access' || i || '/' || s)::bytea),
                -- 60 bytes, a sealed sender hash's size (STD1-SRV-25)
                sha256(('sealed' || i || '/' || s)::bytea)
                    || substring(sha256(('nonce' || i || '/' || s)::bytea) from 1 for 28),
                sha256(('sender' || i || '/' || s)::bytea), date_trunc('second', now())
         FROM generate_series(0, $1 - 1) AS i, (VALUES (1::smallint), (2::smallint)) AS slots (s)",
    ];
    for sql in statements {
        sqlx::query(sql)
            .bind(n)
            .execute(&mut *conn)
            .await
            .map_err(|e| format!("setting up rooms: {e}"))?;
    }
    sqlx::query(
        "INSERT INTO messages (room_id, id, author_slot, ciphertext, iv, sent_at)
         SELECT md5(i::text)::uuid, md5(i || '/0')::uuid, 1, $2, $3, date_trunc('second', now())
         FROM generate_series(0, $1 - 1) AS i",
    )
    .bind(n)
    .bind(ciphertext)
    .bind(&ciphertext[..12])
    .execute(&mut *conn)
    .await
    .map_err(|e| format!("setting up messages: {e}"))?;
    conn.execute("VACUUM ANALYZE")
        .await
        .map_err(|e| format!("analysing {DATABASE}: {e}"))?;
    Ok(())
}

/// The `new_message` frame a send with this ciphertext publishes, split
/// around its `sent_at` value as the server splits it
/// (server/src/store/send.rs): the SQL function writes the operation time
/// in between, so the baseline's notifications are the server's size.
fn frame_template(ciphertext: &[u8]) -> Result<(String, String), String> {
    let ids = random_bytes(16 + 32 + 12)?;
    let message = Message {
        id: MessageId::from_random_bytes(
            <[u8; 16]>::try_from(&ids[0..16]).map_err(|_| "16 bytes".to_owned())?,
        ),
        sender_hash: SenderHash::try_from(&ids[16..48]).map_err(|e| e.to_string())?,
        ciphertext: Ciphertext::from_bytes(ciphertext.to_vec())
            .map_err(|e| format!("ciphertext: {e:?}"))?,
        iv: Iv::try_from(&ids[48..60]).map_err(|e| format!("iv: {e:?}"))?,
        sent_at: Timestamp::EPOCH,
        read_at: None,
        edited: false,
    };
    let frame = ServerFrame::Broadcast(Broadcast::NewMessage(message)).to_json();
    let member = format!("\"sent_at\":\"{}\"", Timestamp::EPOCH);
    match frame.split_once(member.as_str()) {
        Some((head, tail)) => Ok((format!("{head}\"sent_at\":\""), format!("\"{tail}"))),
        None => Err("a new_message frame without sent_at".into()),
    }
}

fn random_bytes(n: usize) -> Result<Vec<u8>, String> {
    let mut bytes = vec![0_u8; n];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    Ok(bytes)
}

/// A private directory for the script, under the system's temporary one.
fn scratch_dir() -> Result<PathBuf, String> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!("stelgano-pgbench-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    Ok(dir)
}

/// pgbench of the cluster's own major version when Debian's layout has it
/// (the server finds its binaries there too, server/src/local_pg.rs), else
/// the one on `PATH`.
fn pgbench_binary() -> Result<PathBuf, String> {
    let mut versioned: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let path = entry.path().join("bin/pgbench");
            path.is_file().then_some((version, path))
        })
        .collect();
    versioned.sort();
    if let Some((_, path)) = versioned.pop() {
        return Ok(path);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("pgbench"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            "pgbench was not found (Debian/Ubuntu: apt-get install postgresql-client)".to_owned()
        })
}

/// Runs pgbench: prepared statements (the server's pool prepares and
/// caches its statements too), two worker threads (this machine's cores),
/// no vacuum of pgbench's own tables (there are none).
async fn pgbench(
    options: &PgConnectOptions,
    script: &Path,
    run: PgbenchRun,
    ciphertext: &[u8],
    (head, tail): &(String, String),
) -> Result<String, String> {
    let binary = pgbench_binary()?;
    let host = match options.get_socket() {
        Some(socket) => socket.display().to_string(),
        None => options.get_host().to_owned(),
    };
    let threads = run.clients.min(2);
    let rate = run.rate_per_s.map(|r| format!("{r:.0}"));
    let output = tokio::process::Command::new(&binary)
        .args(["-n", "-M", "prepared", "-f"])
        .arg(script)
        .args(["-c", &run.clients.to_string(), "-j", &threads.to_string()])
        .args(["-T", &run.duration.as_secs().max(1).to_string()])
        .args(rate.iter().flat_map(|r| ["-R", r.as_str()]))
        // A log line per transaction, in the script's directory.
        .arg("-l")
        .current_dir(script.parent().unwrap_or(Path::new(".")))
        .args(["-h", &host, "-p", &options.get_port().to_string()])
        .args(["-U", options.get_username()])
        .arg("-D")
        .arg(format!("ciphertext=\\x{}", hex(ciphertext)))
        .arg("-D")
        .arg(format!("iv=\\x{}", hex(&ciphertext[..12])))
        .arg("-D")
        .arg(format!("channel={CHANNEL}"))
        .arg("-D")
        .arg(format!("head={head}"))
        .arg("-D")
        .arg(format!("tail={tail}"))
        .args(["-D", "n=0"])
        .arg(DATABASE)
        .env_remove("PGDATABASE")
        .env_remove("PGSERVICE")
        .env_remove("PGOPTIONS")
        .envs((!run.notify).then_some(("PGOPTIONS", "-c search_path=public,pg_catalog")))
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("running {}: {e}", binary.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        return Err(format!(
            "pgbench failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim(),
            stdout.trim()
        ));
    }
    Ok(stdout)
}

/// Every transaction's latency from pgbench's logs in `dir`
/// (`pgbench_log.<pid>` and one more file per extra thread), whose lines
/// are `client transaction latency_us script epoch_s epoch_us …`.
fn transaction_latencies(dir: &Path) -> Result<LatencySummary, String> {
    let mut samples = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        if !entry
            .file_name()
            .to_string_lossy()
            .starts_with("pgbench_log")
        {
            continue;
        }
        let text = std::fs::read_to_string(entry.path())
            .map_err(|e| format!("reading {}: {e}", entry.path().display()))?;
        samples.extend(parse_log(&text)?);
    }
    if samples.is_empty() {
        return Err("pgbench wrote no transaction log".into());
    }
    Ok(LatencySummary::of(&mut samples))
}

fn parse_log(text: &str) -> Result<Vec<Duration>, String> {
    text.lines()
        .map(|line| {
            line.split_whitespace()
                .nth(2)
                .and_then(|us| us.parse::<u64>().ok())
                .map(Duration::from_micros)
                .ok_or_else(|| format!("a pgbench log line without a latency: {line}"))
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads pgbench's summary: transactions processed, failures (pgbench 15
/// and later), average latency and tps without connection time (spelt
/// "excluding connections establishing" before pgbench 14).
fn parse_output(text: &str) -> Result<PgbenchResult, String> {
    let after = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .map(str::trim)
    };
    let first_word = |s: &str| s.split_whitespace().next().unwrap_or_default().to_owned();
    let transactions: u64 = after("number of transactions actually processed:")
        .map(first_word)
        .and_then(|s| s.split('/').next().and_then(|n| n.parse().ok()))
        .ok_or_else(|| format!("no transaction count in pgbench's output: {text}"))?;
    if let Some(failed) = after("number of failed transactions:").map(first_word)
        && failed != "0"
    {
        return Err(format!("{failed} pgbench transactions failed: {text}"));
    }
    let latency_ms_avg: f64 = after("latency average =")
        .map(first_word)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no latency in pgbench's output: {text}"))?;
    let tps: f64 = text
        .lines()
        .filter(|l| {
            l.contains("without initial connection time") || l.contains("excluding connections")
        })
        .find_map(|l| l.trim().strip_prefix("tps =").map(first_word))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no tps in pgbench's output: {text}"))?;
    Ok(PgbenchResult {
        clients: 0,
        notify: true,
        rate_per_s: None,
        latency: LatencySummary::default(),
        transactions,
        tps,
        latency_ms_avg,
        duration_s: 0.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pgbench_15_output() {
        let text = "transaction type: send.pgbench\nscaling factor: 1\nquery mode: prepared\n\
                    number of clients: 50\nnumber of threads: 2\nmaximum number of tries: 1\n\
                    duration: 10 s\nnumber of transactions actually processed: 51234\n\
                    number of failed transactions: 0 (0.000%)\nlatency average = 9.761 ms\n\
                    initial connection time = 40.120 ms\n\
                    tps = 5122.4441 (without initial connection time)\n";
        let r = parse_output(text).expect("parses");
        assert_eq!(r.transactions, 51234);
        assert!((r.tps - 5122.4441).abs() < 1e-9);
        assert!((r.latency_ms_avg - 9.761).abs() < 1e-9);
    }

    #[test]
    fn reads_older_output_and_refuses_failures() {
        let old = "number of transactions actually processed: 10\nlatency average = 1.0 ms\n\
                   tps = 9.5 (including connections establishing)\n\
                   tps = 10.5 (excluding connections establishing)\n";
        assert!((parse_output(old).expect("parses").tps - 10.5).abs() < 1e-9);
        let failed = "number of transactions actually processed: 10\n\
                      number of failed transactions: 3 (23.1%)\nlatency average = 1.0 ms\n\
                      tps = 10.5 (without initial connection time)\n";
        assert!(parse_output(failed).is_err());
    }

    #[test]
    fn reads_transaction_logs() {
        let log = "0 1 2345 0 1764324000 123456\n3 7 10001 0 1764324001 5 120\n";
        assert_eq!(
            parse_log(log).expect("parses"),
            [Duration::from_micros(2345), Duration::from_micros(10001)]
        );
        assert!(parse_log("0 1 skipped 0 1 2\n").is_err());
    }

    #[test]
    fn the_frame_template_is_a_new_message_frame_around_its_time() {
        let (head, tail) = frame_template(&[7; CIPHERTEXT_BYTES]).expect("template");
        let whole = format!("{head}2026-11-28T10:00:00Z{tail}");
        assert!(
            matches!(
                ServerFrame::from_json(&whole),
                Some(ServerFrame::Broadcast(Broadcast::NewMessage(m)))
                    if m.sent_at.to_string() == "2026-11-28T10:00:00Z"
            ),
            "{whole}"
        );
    }
}
