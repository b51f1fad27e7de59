//! Operational metrics in the Prometheus text format (STD1-SRV-23).
//!
//! Only event names, reply outcomes, limit names, counts and durations are
//! recorded; no label ever carries anything a client sent. The endpoint is
//! off unless the operator gives it its own listener (`--metrics-listen`),
//! so it is never reachable through the public address.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use crate::state::AppState;

/// Seconds a frame took from arrival to reply, by event.
pub const REQUEST_DURATION: &str = "stelgano_request_duration_seconds";
/// Frames answered, by event and outcome (`ok` or the error reason).
pub const REPLIES: &str = "stelgano_replies_total";
/// Requests refused under a rate limit, by limit.
pub const RATE_LIMITED: &str = "stelgano_rate_limited_total";
/// Batches of aggregate counters that could not be written.
pub const TELEMETRY_FLUSH_FAILURES: &str = "stelgano_telemetry_flush_failures_total";

/// Buckets for request durations: the time floor puts create and join
/// near 100–125 ms, everything else should be a few milliseconds.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.125, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's recorder: `metrics` has one global recorder per process,
/// so several servers in one test process share it.
static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder once per process; `None` when another
/// recorder was installed first.
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.into()), DURATION_BUCKETS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            Some(handle)
        })
        .clone()
}

fn describe() {
    metrics::describe_histogram!(
        REQUEST_DURATION,
        metrics::Unit::Seconds,
        "Time from a frame's arrival to its reply, by event"
    );
    metrics::describe_counter!(REPLIES, "Frames answered, by event and outcome");
    metrics::describe_counter!(
        RATE_LIMITED,
        "Requests refused under a rate limit, by limit"
    );
    metrics::describe_counter!(
        TELEMETRY_FLUSH_FAILURES,
        "Batches of aggregate counters that could not be written"
    );
    metrics::describe_gauge!("stelgano_connections", "Open WebSocket connections");
    metrics::describe_gauge!("stelgano_sessions", "Open sessions");
    metrics::describe_gauge!("stelgano_db_pool_connections", "Database pool connections");
    metrics::describe_gauge!("stelgano_db_pool_idle", "Idle database pool connections");
    metrics::describe_gauge!(
        "stelgano_rate_limit_addresses",
        "Client addresses the rate limits remember"
    );
}

/// Records one answered frame.
pub fn record_reply(event: &'static str, outcome: &'static str, took: Duration) {
    metrics::histogram!(REQUEST_DURATION, "event" => event).record(took.as_secs_f64());
    metrics::counter!(REPLIES, "event" => event, "outcome" => outcome).increment(1);
}

/// Records a refusal under a rate limit.
pub fn record_rate_limited(limit: crate::rate_limit::Limit) {
    metrics::counter!(RATE_LIMITED, "limit" => limit.name()).increment(1);
}

/// Samples the gauges that describe the server's live state.
fn sample(state: &AppState) {
    metrics::gauge!("stelgano_connections").set(state.hub.connection_count() as f64);
    metrics::gauge!("stelgano_sessions").set(state.hub.session_count() as f64);
    metrics::gauge!("stelgano_db_pool_connections").set(f64::from(state.pool.size()));
    metrics::gauge!("stelgano_db_pool_idle").set(state.pool.num_idle() as f64);
    metrics::gauge!("stelgano_rate_limit_addresses").set(state.rate_limits.remembered() as f64);
}

/// The metrics router: `GET /metrics` only.
pub fn router(state: AppState, handle: PrometheusHandle) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state((state, Arc::new(handle)))
}

async fn scrape(
    State((state, handle)): State<(AppState, Arc<PrometheusHandle>)>,
) -> impl IntoResponse {
    sample(&state);
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/plain; version=0.0.4"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        handle.render(),
    )
}

/// Serves the metrics router on its own listener until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    handle: PrometheusHandle,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state, handle))
        .with_graceful_shutdown(shutdown)
        .await
}
