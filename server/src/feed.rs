//! The instance's feed of room events: one `LISTEN` connection to
//! PostgreSQL, forwarding every room event to the hub.
//!
//! A listener connection can die without a word (a NAT or proxy forgetting
//! it, a database failover): reads then simply never return. So the feed
//! proves its connection alive with heartbeats, notifications this
//! instance sends to itself on a channel of their own; a heartbeat that
//! does not come back within one period ends the connection. However the
//! connection is lost, events may have been missed, so every session of
//! the instance is ended (its client rejoins, STD1-CLI-22) and the feed
//! reconnects with back-off.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};

use crate::hub::Hub;
use crate::store::StoreError;
use crate::store::events::{CHANNEL, Reassembler};

/// Channel of the heartbeats; its payloads are random per heartbeat, so
/// the heartbeats of other instances are told apart and ignored.
pub const HEARTBEAT_CHANNEL: &str = "stelgano_feed_heartbeat";

/// How often the feed proves its connection by default.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(10);

/// Runs the feed for ever, signalling `ready` once it first listens.
///
/// The listener and the heartbeats each have a one-connection pool of
/// their own, made with `pool`'s options: a listener holds its connection
/// for good and would otherwise shrink the pool requests use, and
/// heartbeats must not wait behind requests when that pool is busy, or a
/// busy instance would take itself for a deaf one. A short acquire timeout
/// keeps a dead connection from stalling a reconnect.
pub async fn run(
    pool: PgPool,
    hub: Arc<Hub>,
    heartbeat: Duration,
    ready: tokio::sync::oneshot::Sender<()>,
) {
    let own_pool = || {
        PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(pool.connect_options().as_ref().clone())
    };
    let listener_pool = own_pool();
    let heartbeat_pool = own_pool();
    let mut ready = Some(ready);
    let mut backoff = Duration::from_millis(100);
    loop {
        match listen(&listener_pool).await {
            Ok(listener) => {
                hub.set_listening(true);
                if let Some(ready) = ready.take() {
                    let _ = ready.send(());
                }
                backoff = Duration::from_millis(100);
                follow(listener, &heartbeat_pool, &hub, heartbeat).await;
                hub.set_listening(false);
                tracing::warn!(
                    "room event feed lost its connection; ending this instance's sessions"
                );
                hub.resync_all();
            }
            Err(e) => {
                tracing::warn!(error = %e.loggable(), "room event feed cannot listen");
            }
        }
        tokio::time::sleep(backoff).await;
        // A short cap: a restarted database is back within seconds, and
        // until the feed is, this instance's sessions cannot be served
        // (STD1-SRV-29). One attempt a second costs the database nothing.
        backoff = (backoff * 2).min(Duration::from_secs(1));
    }
}

async fn listen(pool: &PgPool) -> Result<PgListener, StoreError> {
    let mut listener = PgListener::connect_with(pool).await?;
    // Reconnecting by itself would hide the gap from us.
    listener.eager_reconnect(false);
    listener.listen_all([CHANNEL, HEARTBEAT_CHANNEL]).await?;
    Ok(listener)
}

/// Forwards events until the connection is lost or a heartbeat is late.
async fn follow(mut listener: PgListener, pool: &PgPool, hub: &Hub, heartbeat: Duration) {
    // The heartbeat awaited, 0 when none is; nonces are never 0.
    let awaited = Arc::new(AtomicU64::new(0));
    let (late_tx, mut late) = tokio::sync::oneshot::channel::<()>();
    let beats = tokio::spawn(send_heartbeats(
        pool.clone(),
        Arc::clone(&awaited),
        heartbeat,
        late_tx,
    ));
    let mut reassembler = Reassembler::default();
    loop {
        // `try_recv` is only ever cancelled here when the connection is
        // being given up, never to be read again.
        let notification = tokio::select! {
            received = listener.try_recv() => match received {
                Ok(Some(notification)) => notification,
                Ok(None) | Err(_) => break,
            },
            _ = &mut late => {
                tracing::warn!("room event feed heartbeat is late");
                break;
            }
        };
        if notification.channel() == HEARTBEAT_CHANNEL {
            if let Ok(nonce) = notification.payload().parse::<u64>() {
                let _ = awaited.compare_exchange(nonce, 0, Ordering::AcqRel, Ordering::Acquire);
            }
            continue;
        }
        match reassembler.push(notification.payload()) {
            Ok(Some(event)) => hub.dispatch(event),
            Ok(None) => {}
            // A refused part may be one of a real event (a part out of
            // sequence drops the event it belongs to), which no session
            // would then receive: every session of the instance is ended
            // rather than left with a gap (STD1-WIRE-30), as when the
            // connection is lost. Joins under way are told to resync too,
            // as after a reconnect: their feed token names the listener
            // state before the gap. The connection itself carries on.
            Err(_) => {
                tracing::warn!(
                    "malformed room event notification; ending this instance's sessions"
                );
                hub.set_listening(false);
                hub.resync_all();
                hub.set_listening(true);
            }
        }
    }
    beats.abort();
}

/// Every period: reports late if the last heartbeat has not come back,
/// otherwise sends a new one.
async fn send_heartbeats(
    pool: PgPool,
    awaited: Arc<AtomicU64>,
    period: Duration,
    late: tokio::sync::oneshot::Sender<()>,
) {
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if awaited.load(Ordering::Acquire) != 0 {
            let _ = late.send(());
            return;
        }
        let nonce = getrandom::u64().unwrap_or(1).max(1);
        awaited.store(nonce, Ordering::Release);
        // A send that fails or hangs leaves the heartbeat awaited, which
        // the next tick reports.
        let send = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(HEARTBEAT_CHANNEL)
            .bind(nonce.to_string())
            .execute(&pool);
        let _ = tokio::time::timeout(period, send).await;
    }
}
