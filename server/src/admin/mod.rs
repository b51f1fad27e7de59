//! The administration page `/admin` (STD1-SRV-24): aggregate counters over
//! a chosen range of days and the live totals, behind HTTP Basic
//! authentication, switched off unless a password is configured.

pub mod render;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::{Date, Duration as Days, OffsetDateTime};

use crate::app::{AppState, too_many_requests};
use crate::rate_limit::{ClientKey, Limit};
use crate::telemetry;
use render::{Dashboard, LiveTotals};

/// Where the page is served.
pub const PATH: &str = "/admin";
/// Where its stylesheet is served.
pub const STYLESHEET_PATH: &str = "/admin/admin.css";

/// The longest range the page shows at once, in days.
pub const MAX_RANGE_DAYS: i64 = 366;
/// The range shown when none is asked for: the last 30 days.
const DEFAULT_RANGE_DAYS: i64 = 30;

/// The configured credentials, kept as a digest of `user:password`.
///
/// Comparing digests makes the comparison independent of where, or
/// whether, a guess first differs, and of the lengths of both: each side
/// is hashed whole, then 32 bytes are compared in constant time
/// (STD1-SRV-24).
pub struct AdminAuth {
    digest: [u8; 32],
}

impl std::fmt::Debug for AdminAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminAuth(..)")
    }
}

impl AdminAuth {
    pub fn new(user: &str, password: &str) -> Self {
        Self {
            digest: credentials_digest(user.as_bytes(), password.as_bytes()),
        }
    }

    /// Whether an `Authorization` header carries these credentials.
    pub fn admits(&self, authorization: Option<&HeaderValue>) -> bool {
        let presented = authorization
            .and_then(|value| basic_credentials(value.as_bytes()))
            .unwrap_or_default();
        // A missing or malformed header is still compared, against a value
        // no password yields, so it costs the same as a wrong one.
        let digest = Sha256::digest(&presented);
        let mut candidate = [0u8; 32];
        candidate.copy_from_slice(&digest);
        bool::from(candidate.ct_eq(&self.digest))
    }
}

/// The digest of `user:password`, the form Basic authentication carries.
fn credentials_digest(user: &[u8], password: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(user);
    hasher.update(b":");
    hasher.update(password);
    let mut digest = [0u8; 32];
    digest.copy_from_slice(&hasher.finalize());
    digest
}

/// The decoded `user:password` of a `Basic` authorization value.
fn basic_credentials(value: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let (scheme, encoded) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
}

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

    fn basic(user: &str, password: &str) -> HeaderValue {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        HeaderValue::from_str(&format!("Basic {encoded}")).expect("header")
    }

    #[test]
    fn only_the_configured_credentials_are_admitted() {
        // STD1-SRV-24: missing, malformed, wrong and right credentials.
        let auth = AdminAuth::new("admin", "correct horse");
        assert!(auth.admits(Some(&basic("admin", "correct horse"))));
        assert!(!auth.admits(None));
        assert!(!auth.admits(Some(&basic("admin", "correct hors"))));
        assert!(!auth.admits(Some(&basic("admin", "correct horse "))));
        assert!(!auth.admits(Some(&basic("root", "correct horse"))));
        assert!(!auth.admits(Some(&HeaderValue::from_static("Bearer abc"))));
        assert!(!auth.admits(Some(&HeaderValue::from_static("Basic !!!"))));
        // The scheme is case-insensitive (RFC 7617).
        let lower = basic("admin", "correct horse")
            .to_str()
            .expect("ascii")
            .replacen("Basic", "basic", 1);
        assert!(auth.admits(Some(&HeaderValue::from_str(&lower).expect("header"))));
    }

    #[test]
    fn a_password_containing_a_colon_is_kept_whole() {
        // RFC 7617: the user name ends at the first colon.
        let auth = AdminAuth::new("admin", "a:b");
        assert!(auth.admits(Some(&basic("admin", "a:b"))));
        assert!(!auth.admits(Some(&basic("admin", "a"))));
    }

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
