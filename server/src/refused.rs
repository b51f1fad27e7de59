//! The HTTP answer to a request refused under a rate limit.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::rate_limit::Refused;
use crate::state::AppState;
use crate::telemetry::Counter;

/// The HTTP refusal under a rate limit: `429` with `Retry-After`
/// (STD1-SRV-18, STD1-SRV-21), counted (STD1-SRV-22).
pub fn too_many_requests(state: &AppState, refused: Refused) -> Response {
    state.telemetry.count(Counter::RateLimited(refused.limit));
    crate::metrics::record_rate_limited(refused.limit);
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, refused.retry_after.to_string())],
        "too many requests",
    )
        .into_response()
}
