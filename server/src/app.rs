//! The HTTP surface, the background tasks and the server's lifecycle.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use sqlx::PgPool;
use stelgano_spec::constants::{MAX_FRAME_BYTES, WS_PATH, WS_SUBPROTOCOL};
use tokio::net::TcpListener;

use crate::linger::LingeringListener;
use crate::rate_limit::{ClientKey, Limit};
use crate::refused::too_many_requests;
use crate::state::AppState;
use crate::store::sweep_expired;
use crate::telemetry::{Counter, Telemetry};
use crate::web_assets;
use crate::ws::Connection;

/// How long shutdown waits for connections to close.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The Content Security Policy of every response (STD1-SRV-12).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   font-src 'self'; connect-src 'self'; worker-src 'self'; manifest-src 'none'; \
                   base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The application's routes.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new()
        .route(WS_PATH, get(websocket))
        .route("/healthz", get(healthz))
        .route("/x", get(panic_route));
    // STD1-SRV-24: without a password the page does not exist; its paths
    // fall through to the static files like any unknown path.
    if state.admin.is_some() {
        router = router
            .route(crate::admin::PATH, get(crate::admin::page))
            .route(crate::admin::STYLESHEET_PATH, get(crate::admin::stylesheet));
    }
    router
        .fallback(static_file)
        .layer(axum::middleware::map_response_with_state(
            state.hsts.clone(),
            security_headers,
        ))
        .with_state(state)
}

/// The `Strict-Transport-Security` header value for a max-age in seconds
/// (STD1-SRV-15).
pub fn hsts_header(max_age: u64) -> HeaderValue {
    // Digits and ASCII letters are always a valid header value.
    HeaderValue::try_from(format!("max-age={max_age}"))
        .unwrap_or_else(|_| HeaderValue::from_static("max-age=31536000"))
}

/// Adds the security headers to every response except WebSocket upgrades
/// (STD1-SRV-12, STD1-SRV-14), and HSTS when configured (STD1-SRV-15).
async fn security_headers(
    State(hsts): State<Option<HeaderValue>>,
    mut response: Response,
) -> Response {
    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        return response;
    }
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            header::HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
        (
            header::HeaderName::from_static("cross-origin-embedder-policy"),
            "require-corp",
        ),
        (
            header::HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if let Some(hsts) = hsts {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, hsts);
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Every other path: a file of the embedded client for `GET` and `HEAD`.
async fn static_file(method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, "method not allowed").into_response();
    }
    web_assets::serve(uri).await
}

/// `GET /healthz`: 200 when the database answers (STD1-SRV-11).
/// Unhealthy too while the event feed is down: sessions cannot be served.
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    if !state.hub.is_listening() {
        return (StatusCode::SERVICE_UNAVAILABLE, "event feed down");
    }
    match sqlx::query("SELECT 1").execute(&state.pool).await {
        Ok(_) => (StatusCode::OK, "ok"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}

/// `GET /x`: the panic route (STD1-SRV-13).
async fn panic_route() -> impl IntoResponse {
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, "/?p=1"),
            (header::CACHE_CONTROL, "no-store"),
            (
                header::HeaderName::from_static("clear-site-data"),
                "\"cache\", \"storage\"",
            ),
        ],
    )
}

/// `GET /ws`: the upgrade, refused for a query string (STD1-WIRE-1) or a
/// foreign Origin (STD1-WIRE-6), before any room logic runs.
async fn websocket(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    if uri.query().is_some() {
        return (
            StatusCode::BAD_REQUEST,
            "no query string on the WebSocket endpoint",
        )
            .into_response();
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let allowed = origin
            .to_str()
            .is_ok_and(|o| state.allowed_origins.iter().any(|a| a == o));
        if !allowed {
            return (StatusCode::FORBIDDEN, "origin not allowed").into_response();
        }
    }
    let Ok(upgrade) = upgrade else {
        return (StatusCode::UPGRADE_REQUIRED, "WebSocket upgrade required").into_response();
    };
    let client = ClientKey::of(state.client_address.client_ip(peer, &headers));
    if let Err(refused) = state.rate_limits.check(Limit::Upgrade, client) {
        return too_many_requests(&state, refused);
    }
    upgrade
        .protocols([WS_SUBPROTOCOL])
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| Connection::new(state, socket, client).run())
}

/// Deletes rooms past their lifetime, announcing each (STD1-LIFE-4).
pub async fn sweep_rooms(pool: PgPool, telemetry: Arc<Telemetry>, every: Duration) {
    const BATCH: i64 = 500;
    let mut ticker = tokio::time::interval(every);
    loop {
        ticker.tick().await;
        // Full batches mean a backlog: keep going until it is cleared, so
        // no room outlives its time by more than a minute.
        loop {
            match sweep_expired(&pool, BATCH).await {
                Ok(expired) => {
                    if !expired.is_empty() {
                        tracing::info!(rooms = expired.len(), "expired rooms deleted");
                        telemetry.count_n(Counter::ExpiredLifetime, expired.len() as u64);
                    }
                    if expired.len() < BATCH as usize {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e.loggable(), "expiry sweep failed");
                    break;
                }
            }
        }
    }
}

/// Serves `state` on `listener` until `shutdown` resolves, with the event
/// listener and the expiry sweep running beside it.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    sweep_every: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(
        listener,
        state,
        sweep_every,
        TELEMETRY_FLUSH_EVERY,
        shutdown,
    )
    .await
}

/// How often counter increments are written by default (D-42).
pub const TELEMETRY_FLUSH_EVERY: Duration = Duration::from_secs(60);

/// As [`serve`], with the interval of counter batches.
pub async fn serve_with(
    listener: TcpListener,
    state: AppState,
    sweep_every: Duration,
    telemetry_every: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (ready, listening) = tokio::sync::oneshot::channel();
    let events = tokio::spawn(crate::feed::run(
        state.pool.clone(),
        Arc::clone(&state.hub),
        state.feed_heartbeat,
        ready,
    ));
    let sweep = tokio::spawn(sweep_rooms(
        state.pool.clone(),
        Arc::clone(&state.telemetry),
        sweep_every,
    ));
    let hub = Arc::clone(&state.hub);
    let rate_limits = Arc::clone(&state.rate_limits);
    let prune = tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        let mut ticks: u32 = 0;
        loop {
            ticker.tick().await;
            hub.prune();
            ticks = ticks.wrapping_add(1);
            if ticks.is_multiple_of(60) {
                // STD1-SRV-1: per-address state is dropped once idle.
                rate_limits.forget_idle();
            }
        }
    });
    let flusher = tokio::spawn(crate::telemetry::run_flusher(
        Arc::clone(&state.telemetry),
        state.pool.clone(),
        telemetry_every,
    ));
    let telemetry = Arc::clone(&state.telemetry);
    let pool = state.pool.clone();
    // No connection is accepted before events can be delivered.
    let _ = listening.await;
    let hub = Arc::clone(&state.hub);
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    // Accepted connections are drained before they are closed, so that a
    // reset cannot discard what was written last (`linger`, STD1-WIRE-32).
    // A sender gets its own broadcast and then its reply, two small writes
    // in a row (STD1-WIRE-30). With Nagle's algorithm the second waits for
    // the client's delayed acknowledgement of the first, about 40 ms on
    // Linux, on every send (measured with `benches/send_path.rs`).
    let listener = LingeringListener::new(listener).tap_io(|stream| {
        if stream.set_nodelay(true).is_err() {
            tracing::debug!("TCP_NODELAY could not be set");
        }
    });
    let (stopping_tx, mut stopping) = tokio::sync::watch::channel(false);
    let graceful = async move {
        shutdown.await;
        stopping_tx.send_replace(true);
    };
    // On shutdown, WebSocket connections (which `axum::serve` no longer
    // tracks once upgraded) are closed with 1001 at once, beside the HTTP
    // side's graceful stop; an HTTP client that never finishes its request
    // cannot hold the process beyond the grace period.
    let closing = tokio::spawn({
        let hub = Arc::clone(&hub);
        let mut stopping = stopping.clone();
        async move {
            let _ = stopping.wait_for(|s| *s).await;
            hub.shut_down(SHUTDOWN_GRACE).await;
        }
    });
    let serving = axum::serve(listener, app).with_graceful_shutdown(graceful);
    let result = tokio::select! {
        result = serving => result,
        () = async {
            let _ = stopping.wait_for(|s| *s).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {
            tracing::warn!("HTTP connections still open after the grace period; stopping anyway");
            Ok(())
        }
    };
    // Also when serving failed rather than being asked to stop.
    hub.shut_down(SHUTDOWN_GRACE).await;
    closing.abort();
    events.abort();
    sweep.abort();
    prune.abort();
    flusher.abort();
    // The increments since the last batch (D-42).
    if let Err(e) = telemetry.flush(&pool).await {
        tracing::warn!(error = %crate::store::StoreError::from(e).loggable(), "final telemetry flush failed");
    }
    result
}
