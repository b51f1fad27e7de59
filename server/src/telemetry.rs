//! Aggregate counters that say how the deployment is used without saying
//! who used it (STD1-SRV-10, STD1-SRV-22).
//!
//! Increments gather in memory and are added to PostgreSQL in batches
//! (`flush`), never inside a room's transaction: the store's own metadata
//! then cannot tie a count to the operation that caused it, and sends of
//! different rooms never queue on one hot counter row (D-42). The price is
//! that a crash loses the increments since the last batch.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use sqlx::PgPool;
use stelgano_spec::ids::CountryCode;
use time::{Date, OffsetDateTime};

use crate::rate_limit::Limit;

/// A daily counter. Its name is the only text a counter row holds besides
/// the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Counter {
    RoomsCreated,
    /// Slot 2 taken (STD1-JOIN-15).
    RoomsPaired,
    MessagesSent,
    /// Deleted at the end of their lifetime, by the sweep or when found
    /// past it (STD1-LIFE-4).
    ExpiredLifetime,
    /// Ended by a party's `expire_room` (STD1-LIFE-6).
    ExpiredByParty,
    /// Locks set by failed joins (STD1-JOIN-18).
    Lockouts,
    /// Requests refused under a rate limit (STD1-SRV-18).
    RateLimited(Limit),
}

impl Counter {
    /// Every counter, in the order the dashboard shows them.
    pub const ALL: [Counter; 12] = [
        Counter::RoomsCreated,
        Counter::RoomsPaired,
        Counter::MessagesSent,
        Counter::ExpiredLifetime,
        Counter::ExpiredByParty,
        Counter::Lockouts,
        Counter::RateLimited(Limit::Upgrade),
        Counter::RateLimited(Limit::Join),
        Counter::RateLimited(Limit::Create),
        Counter::RateLimited(Limit::Claim),
        Counter::RateLimited(Limit::Frame),
        Counter::RateLimited(Limit::Admin),
    ];

    /// The name stored in `telemetry_daily.counter`.
    pub const fn name(self) -> &'static str {
        match self {
            Counter::RoomsCreated => "rooms_created",
            Counter::RoomsPaired => "rooms_paired",
            Counter::MessagesSent => "messages_sent",
            Counter::ExpiredLifetime => "expired_lifetime",
            Counter::ExpiredByParty => "expired_by_party",
            Counter::Lockouts => "lockouts",
            Counter::RateLimited(Limit::Upgrade) => "rate_limited_upgrade",
            Counter::RateLimited(Limit::Join) => "rate_limited_join",
            Counter::RateLimited(Limit::Create) => "rate_limited_create",
            Counter::RateLimited(Limit::Claim) => "rate_limited_claim",
            Counter::RateLimited(Limit::Frame) => "rate_limited_frame",
            Counter::RateLimited(Limit::Admin) => "rate_limited_admin",
        }
    }

    /// A short description for people.
    pub const fn label(self) -> &'static str {
        match self {
            Counter::RoomsCreated => "Rooms created",
            Counter::RoomsPaired => "Rooms paired",
            Counter::MessagesSent => "Messages sent",
            Counter::ExpiredLifetime => "Rooms expired (lifetime)",
            Counter::ExpiredByParty => "Rooms ended by a party",
            Counter::Lockouts => "Lockouts",
            Counter::RateLimited(Limit::Upgrade) => "Refused: connections",
            Counter::RateLimited(Limit::Join) => "Refused: joins",
            Counter::RateLimited(Limit::Create) => "Refused: creations",
            Counter::RateLimited(Limit::Claim) => "Refused: pairing claims",
            Counter::RateLimited(Limit::Frame) => "Refused: frames",
            Counter::RateLimited(Limit::Admin) => "Refused: admin page",
        }
    }

    /// The counter stored under `name`.
    pub fn from_name(name: &str) -> Option<Counter> {
        Counter::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Where the counter sits in `ALL`.
    pub fn index(self) -> usize {
        Counter::ALL
            .iter()
            .position(|c| *c == self)
            .unwrap_or_default()
    }
}

/// The counts of one UTC day, indexed like `Counter::ALL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayCounts {
    pub day: Date,
    pub counts: [u64; Counter::ALL.len()],
}

impl DayCounts {
    pub fn zero(day: Date) -> Self {
        Self {
            day,
            counts: [0; Counter::ALL.len()],
        }
    }

    pub fn get(&self, counter: Counter) -> u64 {
        self.counts[counter.index()]
    }
}

/// Increments not yet in the store.
#[derive(Debug, Default)]
struct Pending {
    daily: HashMap<(Date, Counter), u64>,
    countries: HashMap<CountryCode, u64>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.daily.is_empty() && self.countries.is_empty()
    }

    /// Adds `other` back, after a failed flush.
    fn merge(&mut self, other: Pending) {
        for (key, n) in other.daily {
            *self.daily.entry(key).or_default() += n;
        }
        for (key, n) in other.countries {
            *self.countries.entry(key).or_default() += n;
        }
    }
}

/// The server's counters: increments in memory, batches to PostgreSQL.
#[derive(Debug)]
pub struct Telemetry {
    enabled: bool,
    pending: Mutex<Pending>,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self::new(true)
    }
}

impl Telemetry {
    /// Counters that count (`enabled`) or ignore every increment.
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            pending: Mutex::new(Pending::default()),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Counts one event today (UTC).
    pub fn count(&self, counter: Counter) {
        self.count_n(counter, 1);
    }

    /// Counts `n` events today (UTC).
    pub fn count_n(&self, counter: Counter, n: u64) {
        if !self.enabled || n == 0 {
            return;
        }
        let today = OffsetDateTime::now_utc().date();
        let mut pending = self.lock();
        *pending.daily.entry((today, counter)).or_default() += n;
    }

    /// Counts a room created with this country code; the code is kept only
    /// as a lifetime total (STD1-SRV-10).
    pub fn count_country(&self, country: CountryCode) {
        if !self.enabled {
            return;
        }
        *self.lock().countries.entry(country).or_default() += 1;
    }

    /// The increments of `day` not yet in the store, for live totals.
    pub fn pending_for(&self, day: Date) -> DayCounts {
        let mut counts = DayCounts::zero(day);
        for ((d, counter), n) in &self.lock().daily {
            if *d == day {
                counts.counts[counter.index()] += n;
            }
        }
        counts
    }

    /// Adds the pending increments to the store in one transaction. On
    /// failure they are kept for the next flush.
    pub async fn flush(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let batch = std::mem::take(&mut *self.lock());
        if batch.is_empty() {
            return Ok(());
        }
        match write_batch(pool, &batch).await {
            Ok(()) => Ok(()),
            Err(e) => {
                self.lock().merge(batch);
                Err(e)
            }
        }
    }

    /// The pending increments; a poisoned lock still holds valid counts.
    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Writes one batch: additions to the day rows and the country totals.
async fn write_batch(pool: &PgPool, batch: &Pending) -> Result<(), sqlx::Error> {
    let mut days = Vec::with_capacity(batch.daily.len());
    let mut names = Vec::with_capacity(batch.daily.len());
    let mut counts = Vec::with_capacity(batch.daily.len());
    for ((day, counter), n) in &batch.daily {
        days.push(*day);
        names.push(counter.name());
        counts.push(i64::try_from(*n).unwrap_or(i64::MAX));
    }
    let mut codes = Vec::with_capacity(batch.countries.len());
    let mut totals = Vec::with_capacity(batch.countries.len());
    for (code, n) in &batch.countries {
        codes.push(code.as_str().to_owned());
        totals.push(i64::try_from(*n).unwrap_or(i64::MAX));
    }
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO telemetry_daily (day, counter, count)
         SELECT * FROM UNNEST($1::date[], $2::text[], $3::bigint[])
         ON CONFLICT (day, counter) DO UPDATE
            SET count = telemetry_daily.count + EXCLUDED.count",
    )
    .bind(&days)
    .bind(&names)
    .bind(&counts)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO telemetry_countries (country_iso, rooms_created)
         SELECT * FROM UNNEST($1::text[], $2::bigint[])
         ON CONFLICT (country_iso) DO UPDATE
            SET rooms_created = telemetry_countries.rooms_created + EXCLUDED.rooms_created",
    )
    .bind(&codes)
    .bind(&totals)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Flushes every `every` until the task is stopped; the server flushes
/// once more when it stops.
pub async fn run_flusher(telemetry: std::sync::Arc<Telemetry>, pool: PgPool, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        if let Err(e) = telemetry.flush(&pool).await {
            // The batch is kept for the next attempt.
            metrics::counter!(crate::metrics::TELEMETRY_FLUSH_FAILURES).increment(1);
            tracing::warn!(error = %crate::store::StoreError::from(e).loggable(), "telemetry flush failed");
        }
    }
}

/// The stored counts of every day from `from` to `to` (inclusive), one
/// entry per day, zero where nothing was counted.
pub async fn read_days(pool: &PgPool, from: Date, to: Date) -> Result<Vec<DayCounts>, sqlx::Error> {
    let rows: Vec<(Date, String, i64)> = sqlx::query_as(
        "SELECT day, counter, count FROM telemetry_daily
          WHERE day BETWEEN $1 AND $2",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    let mut days = Vec::new();
    let mut day = from;
    while day <= to {
        days.push(DayCounts::zero(day));
        match day.next_day() {
            Some(next) => day = next,
            None => break,
        }
    }
    for (day, name, count) in rows {
        let (Some(counter), Some(offset)) = (
            Counter::from_name(&name),
            usize::try_from((day - from).whole_days()).ok(),
        ) else {
            continue;
        };
        if let Some(entry) = days.get_mut(offset) {
            entry.counts[counter.index()] = u64::try_from(count).unwrap_or_default();
        }
    }
    Ok(days)
}

/// The lifetime totals per country, largest first.
pub async fn read_countries(pool: &PgPool) -> Result<Vec<(String, u64)>, sqlx::Error> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT country_iso, rooms_created FROM telemetry_countries
          ORDER BY rooms_created DESC, country_iso",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(code, n)| (code, u64::try_from(n).unwrap_or_default()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_names_are_distinct_and_round_trip() {
        // STD1-SRV-22: names fixed by the server, one per counter.
        for (i, counter) in Counter::ALL.iter().enumerate() {
            assert_eq!(Counter::from_name(counter.name()), Some(*counter));
            assert_eq!(counter.index(), i);
            assert!(
                counter
                    .name()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_')
            );
        }
    }

    #[test]
    fn disabled_telemetry_counts_nothing() {
        let telemetry = Telemetry::new(false);
        telemetry.count(Counter::MessagesSent);
        let today = OffsetDateTime::now_utc().date();
        assert_eq!(telemetry.pending_for(today), DayCounts::zero(today));
    }

    #[test]
    fn increments_gather_by_day_and_counter() {
        let telemetry = Telemetry::new(true);
        telemetry.count(Counter::MessagesSent);
        telemetry.count_n(Counter::MessagesSent, 2);
        telemetry.count(Counter::RoomsCreated);
        let today = OffsetDateTime::now_utc().date();
        let pending = telemetry.pending_for(today);
        assert_eq!(pending.get(Counter::MessagesSent), 3);
        assert_eq!(pending.get(Counter::RoomsCreated), 1);
        assert_eq!(pending.get(Counter::Lockouts), 0);
    }
}
