//! The administration page `/admin` (STD1-SRV-24): aggregate counters over
//! a chosen range of days and the live totals, behind HTTP Basic
//! authentication, switched off unless a password is configured.

mod auth;
pub mod render;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use time::{Date, Duration as Days, OffsetDateTime};

use crate::rate_limit::{ClientKey, Limit};
use crate::refused::too_many_requests;
use crate::state::AppState;
use crate::telemetry;
pub use auth::AdminAuth;
use render::{Dashboard, LiveTotals};

/// Where the page is served.
pub const PATH: &str = "/admin";
/// Where its stylesheet is served.
pub const STYLESHEET_PATH: &str = "/admin/admin.css";

/// The longest range the page shows at once, in days.
pub const MAX_RANGE_DAYS: i64 = 366;
/// The range shown when none is asked for: the last 30 days.
const DEFAULT_RANGE_DAYS: i64 = 30;

/// The range the page was asked for.
#[derive(Debug, Default, Deserialize)]
pub struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
}

/// Why a range was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("dates are written YYYY-MM-DD")]
    Malformed,
    #[error("the range ends before it starts")]
    Reversed,
    #[error("the range is longer than 366 days")]
    TooLong,
}

/// The inclusive range of days to show, ending today and 30 days long
/// unless the query says otherwise.
pub fn resolve_range(query: &RangeQuery, today: Date) -> Result<(Date, Date), RangeError> {
    let parse = |text: &Option<String>| -> Result<Option<Date>, RangeError> {
        match text.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => parse_day(text).map(Some).ok_or(RangeError::Malformed),
        }
    };
    let to = parse(&query.to)?.unwrap_or(today);
    let from = match parse(&query.from)? {
        Some(from) => from,
        None => to
            .checked_sub(Days::days(DEFAULT_RANGE_DAYS - 1))
            .unwrap_or(to),
    };
    if to < from {
        return Err(RangeError::Reversed);
    }
    if (to - from).whole_days() >= MAX_RANGE_DAYS {
        return Err(RangeError::TooLong);
    }
    Ok((from, to))
}

/// A `YYYY-MM-DD` day.
fn parse_day(text: &str) -> Option<Date> {
    // Exactly ten characters: the ISO 8601 parser alone would also take
    // expanded years and week dates.
    if text.len() != 10 {
        return None;
    }
    Date::parse(text, &time::format_description::well_known::Iso8601::DATE).ok()
}

/// `GET /admin`.
pub async fn page(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(query): Query<RangeQuery>,
) -> Response {
    let Some(auth) = state.admin.as_ref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let client = ClientKey::of(state.client_address.client_ip(peer, &headers));
    if let Err(refused) = state.rate_limits.check(Limit::Admin, client) {
        return too_many_requests(&state, refused);
    }
    if !auth.admits(headers.get(header::AUTHORIZATION)) {
        return (
            StatusCode::UNAUTHORIZED,
            [
                (
                    header::WWW_AUTHENTICATE,
                    "Basic realm=\"sTELgano administration\", charset=\"UTF-8\"",
                ),
                (header::CACHE_CONTROL, "no-store"),
            ],
            "authentication required",
        )
            .into_response();
    }
    let today = OffsetDateTime::now_utc().date();
    let (from, to) = match resolve_range(&query, today) {
        Ok(range) => range,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                [(header::CACHE_CONTROL, "no-store")],
                e.to_string(),
            )
                .into_response();
        }
    };
    match dashboard(&state, from, to, today).await {
        Ok(dashboard) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            render::page(&dashboard),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %crate::store::StoreError::from(e).loggable(), "administration page failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CACHE_CONTROL, "no-store")],
                "database unavailable",
            )
                .into_response()
        }
    }
}

/// `GET /admin/admin.css`.
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        render::STYLESHEET,
    )
        .into_response()
}

/// Reads what the page shows: stored counts, today's increments not yet
/// written, and the live totals.
async fn dashboard(
    state: &AppState,
    from: Date,
    to: Date,
    today: Date,
) -> Result<Dashboard, sqlx::Error> {
    let mut days = telemetry::read_days(&state.pool, from, to).await?;
    if let Some(entry) = days.iter_mut().find(|d| d.day == today) {
        let pending = state.telemetry.pending_for(today);
        for (count, extra) in entry.counts.iter_mut().zip(pending.counts) {
            *count = count.saturating_add(extra);
        }
    }
    let countries = telemetry::read_countries(&state.pool).await?;
    let (live_rooms, paired_rooms, rooms_with_message): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*),
                count(*) FILTER (WHERE pairing_hash IS NULL),
                count(*) FILTER (WHERE EXISTS (SELECT 1 FROM messages m WHERE m.room_id = rooms.id))
           FROM rooms
          WHERE ttl_expires_at > now()",
    )
    .fetch_one(&state.pool)
    .await?;
    let count = |n: i64| u64::try_from(n).unwrap_or_default();
    Ok(Dashboard {
        from,
        to,
        days,
        countries,
        live: LiveTotals {
            connections: state.hub.connection_count() as u64,
            sessions: state.hub.session_count() as u64,
            live_rooms: count(live_rooms),
            paired_rooms: count(paired_rooms),
            rooms_with_message: count(rooms_with_message),
        },
        telemetry_enabled: state.telemetry.enabled(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_range_is_the_last_thirty_days() {
        let today = Date::from_calendar_date(2026, time::Month::November, 28).expect("date");
        let (from, to) = resolve_range(&RangeQuery::default(), today).expect("range");
        assert_eq!(to, today);
        assert_eq!((to - from).whole_days(), 29);
    }

    #[test]
    fn bad_ranges_are_refused() {
        let today = Date::from_calendar_date(2026, time::Month::November, 28).expect("date");
        let query = |from: &str, to: &str| RangeQuery {
            from: Some(from.into()),
            to: Some(to.into()),
        };
        assert_eq!(
            resolve_range(&query("2026-13-01", ""), today),
            Err(RangeError::Malformed)
        );
        assert_eq!(
            resolve_range(&query("2026-11-28", "2026-11-01"), today),
            Err(RangeError::Reversed)
        );
        assert_eq!(
            resolve_range(&query("2025-01-01", "2026-11-01"), today),
            Err(RangeError::TooLong)
        );
        let (from, to) = resolve_range(&query("2025-11-28", "2026-11-28"), today).expect("366");
        assert_eq!((to - from).whole_days(), 365);
    }
}
