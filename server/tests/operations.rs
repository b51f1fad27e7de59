//! Operating a deployment (spec §11.3, §11.4): rate limits per client
//! address and per connection, the trusted-proxy header, the
//! administration page, the aggregate counters and the metrics endpoint,
//! against a real server on a real PostgreSQL.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use stelgano_server::admin::AdminAuth;
use stelgano_server::rate_limit::{ClientAddressSource, RateLimits, RateSettings};
use stelgano_server::state::AppState;
use stelgano_server::store::Lockout;
use stelgano_server::telemetry::Telemetry;
use stelgano_spec::ErrorReason;
use stelgano_spec::derive::PartyHashes;
use stelgano_spec::ids::{MessageId, PairingHash, RoomId};
use stelgano_spec::wire::{
    Ciphertext, ClientEvent, ClientFrame, Iv, ReplyBody, SendMessage, ServerFrame,
};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue, header};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use common::{ALLOWED_ORIGIN, Instance};

/// The loopback address the tests connect from by default.
const HERE: &str = "127.0.0.1";
/// Another loopback address: another client as far as the server can tell.
const ELSEWHERE: &str = "127.0.0.2";

/// An instance with no time floor and `configure`'s settings.
async fn start(configure: impl FnOnce(&mut AppState)) -> Instance {
    common::instance_with(common::fresh_pool().await, Duration::ZERO, configure).await
}

/// Only these limits on, with these allowances.
fn limits(settings: RateSettings) -> Arc<RateLimits> {
    Arc::new(RateLimits::new(settings))
}

fn nz(n: u32) -> Option<NonZeroU32> {
    NonZeroU32::new(n)
}

/// A TCP connection to `server` whose source is the loopback address `from`.
async fn tcp_from(from: &str, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(from.parse().expect("ip"), 0))
        .expect("bind a loopback address");
    socket.connect(server).await.expect("connect")
}

type Ws = WebSocketStream<TcpStream>;

/// A WebSocket upgrade from `from` with the allowed Origin and `headers`.
async fn upgrade(server: SocketAddr, from: &str, headers: &[(&str, &str)]) -> Result<Ws, WsError> {
    let mut request = format!("ws://{server}/ws")
        .into_client_request()
        .expect("request");
    request
        .headers_mut()
        .insert(header::ORIGIN, HeaderValue::from_static(ALLOWED_ORIGIN));
    for (name, value) in headers {
        request.headers_mut().insert(
            HeaderName::from_bytes(name.as_bytes()).expect("name"),
            HeaderValue::from_str(value).expect("value"),
        );
    }
    let stream = tcp_from(from, server).await;
    tokio_tungstenite::client_async(request, stream)
        .await
        .map(|(ws, _)| ws)
}

/// The `Retry-After` of an upgrade refused with `429` (STD1-SRV-21).
fn refused_upgrade(result: Result<Ws, WsError>) -> u32 {
    match result {
        Err(WsError::Http(response)) => {
            assert_eq!(response.status().as_u16(), 429, "{response:?}");
            let retry_after = response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u32>().ok())
                .expect("Retry-After holds whole seconds");
            assert!(retry_after >= 1, "Retry-After {retry_after}");
            retry_after
        }
        Ok(_) => panic!("the upgrade should have been refused"),
        Err(other) => panic!("expected HTTP 429, got {other}"),
    }
}

/// One WebSocket client.
struct Client {
    ws: Ws,
    next_ref: u32,
}

impl Client {
    /// Connects from `from`; the upgrade must succeed.
    async fn connect(server: &Instance, from: &str) -> Self {
        let ws = upgrade(server.addr, from, &[]).await.expect("upgrade");
        Self { ws, next_ref: 0 }
    }

    async fn send_raw(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.expect("send");
    }

    /// Sends a request without waiting for its reply (to pipeline frames).
    async fn send(&mut self, event: ClientEvent) {
        self.next_ref += 1;
        let frame = ClientFrame {
            reference: self.next_ref.to_string().parse().expect("ref"),
            event,
        };
        self.send_raw(&frame.to_json()).await;
    }

    /// The next reply, as text and decoded, skipping broadcasts.
    async fn reply(&mut self) -> (String, ServerFrame) {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .expect("the server answers")
                .expect("the connection is open")
                .expect("a message");
            let Message::Text(text) = message else {
                panic!("expected a text frame, got {message:?}")
            };
            let frame = ServerFrame::from_json(text.as_str())
                .unwrap_or_else(|| panic!("not a std-1 frame: {text}"));
            if !matches!(frame, ServerFrame::Broadcast(_)) {
                return (text.as_str().to_owned(), frame);
            }
        }
    }

    async fn request(&mut self, event: ClientEvent) -> ServerFrame {
        self.send(event).await;
        self.reply().await.1
    }
}

fn reason(frame: &ServerFrame) -> Option<ErrorReason> {
    match frame {
        ServerFrame::Error(e) => Some(e.error.reason),
        _ => None,
    }
}

/// The `retry_after` of a `rate_limited` reply; panics on anything else.
fn rate_limited(frame: &ServerFrame) -> u32 {
    match frame {
        ServerFrame::Error(e) if e.error.reason == ErrorReason::RateLimited => {
            assert_eq!(e.error.attempts_remaining, None);
            let retry_after = e.error.retry_after.expect("retry_after");
            assert!(retry_after >= 1);
            retry_after
        }
        other => panic!("expected rate_limited, got {other:?}"),
    }
}

fn joined_room(frame: &ServerFrame) -> RoomId {
    match frame {
        ServerFrame::Ok(reply) => match &reply.ok {
            ReplyBody::Joined(joined) => joined.room_id,
            other => panic!("expected joined, got {other:?}"),
        },
        other => panic!("expected ok, got {other:?}"),
    }
}

fn sent_id(frame: &ServerFrame) -> MessageId {
    match frame {
        ServerFrame::Ok(reply) => match &reply.ok {
            ReplyBody::Sent(sent) => sent.message_id,
            other => panic!("expected sent, got {other:?}"),
        },
        other => panic!("expected ok, got {other:?}"),
    }
}

/// A party of the steg number `+1 555 012 34nn`.
fn party(nn: u8, pin: &str) -> PartyHashes {
    common::party(&format!("+1 555 012 34{nn:02}"), pin)
}

fn pairing() -> PairingHash {
    common::code("P2K4-9H7M")
}

fn wrong_pairing() -> PairingHash {
    common::code("AAAA-AAAA")
}

fn create(p: &PartyHashes, country: Option<&str>) -> ClientEvent {
    ClientEvent::Create(stelgano_spec::wire::CreateRoom {
        country_iso: country.map(|c| c.parse().expect("ISO 3166-1 alpha-2")),
        ..common::create_request(p, pairing())
    })
}

fn join(p: &PartyHashes, pairing_hash: Option<PairingHash>) -> ClientEvent {
    ClientEvent::Join(common::join_request(p, pairing_hash))
}

fn send_message(fill: u8, replaces: Option<MessageId>) -> ClientEvent {
    ClientEvent::SendMessage(SendMessage {
        ciphertext: Ciphertext::from_bytes(vec![fill; 32]).expect("size"),
        iv: Iv::from_array([fill; 12]),
        replaces,
    })
}

async fn count(instance: &Instance, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&instance.pool)
        .await
        .expect("count")
}

/// A raw HTTP/1.1 GET: status, headers (lower-cased names) and body.
async fn http_get(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, BTreeMap<String, String>, String) {
    let (status, headers, body) = common::http_request(addr, "GET", path, headers).await;
    (status, headers.into_iter().collect(), body)
}

fn basic(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

// ---------------------------------------------------------------------------
// 1. Rate limits per address and per connection

#[tokio::test]
async fn upgrades_over_the_limit_get_429_and_other_addresses_do_not() {
    // STD1-SRV-18, STD1-SRV-21: upgrades per address, 429 with Retry-After.
    let server = start(|s| {
        s.rate_limits = limits(RateSettings {
            upgrades_per_minute: nz(3),
            ..RateSettings::OFF
        });
    })
    .await;
    let mut open = Vec::new();
    for i in 0..3 {
        let ws = upgrade(server.addr, HERE, &[])
            .await
            .unwrap_or_else(|e| panic!("upgrade {i} within the allowance: {e}"));
        open.push(ws);
    }
    refused_upgrade(upgrade(server.addr, HERE, &[]).await);
    upgrade(server.addr, ELSEWHERE, &[])
        .await
        .expect("another address has its own allowance");
    // Still refused for the first address: the other's upgrade took nothing of it.
    refused_upgrade(upgrade(server.addr, HERE, &[]).await);
}

#[tokio::test]
async fn creates_over_the_limit_are_refused_and_change_nothing() {
    // STD1-SRV-18: room creation per address; the refusal changes nothing.
    let server = start(|s| {
        s.rate_limits = limits(RateSettings {
            creates_per_minute: nz(2),
            ..RateSettings::OFF
        });
    })
    .await;
    // A connection serves one room: one connection per create.
    for nn in 1..=2 {
        let mut c = Client::connect(&server, HERE).await;
        joined_room(&c.request(create(&party(nn, "1234"), None)).await);
    }
    let mut third = Client::connect(&server, HERE).await;
    third.send(create(&party(3, "1234"), None)).await;
    let (text, reply) = third.reply().await;
    rate_limited(&reply);
    // STD1-WIRE-28: `rate_limited` carries `retry_after` and nothing else.
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    let members: Vec<&str> = json["error"]
        .as_object()
        .expect("error object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(members, ["reason", "retry_after"], "{text}");
    assert_eq!(count(&server, "SELECT count(*) FROM rooms").await, 2);
    // The refused connection stays usable and sessionless.
    assert_eq!(
        reason(&third.request(ClientEvent::Typing).await),
        Some(ErrorReason::NotJoined)
    );

    let mut elsewhere = Client::connect(&server, ELSEWHERE).await;
    joined_room(&elsewhere.request(create(&party(3, "1234"), None)).await);
    assert_eq!(count(&server, "SELECT count(*) FROM rooms").await, 3);
}

#[tokio::test]
async fn claims_over_the_limit_are_refused_before_the_code_is_looked_at() {
    // STD1-SRV-18 (slot-2 claims per address), STD1-WIRE-22: the limit is
    // applied before the event's own rules, so a refused guess costs the
    // room no failure.
    let server = start(|s| {
        s.rate_limits = limits(RateSettings {
            claims_per_minute: nz(1),
            ..RateSettings::OFF
        });
    })
    .await;
    let alice = party(1, "1234");
    let bob = party(1, "9999");
    let mut a = Client::connect(&server, HERE).await;
    joined_room(&a.request(create(&alice, None)).await);

    let failures = || count(&server, "SELECT failures::bigint FROM rooms");
    let mut b = Client::connect(&server, HERE).await;
    let first = b.request(join(&bob, Some(wrong_pairing()))).await;
    assert_eq!(
        reason(&first),
        Some(ErrorReason::PairingInvalid),
        "{first:?}"
    );
    assert_eq!(failures().await, 1);

    let second = b.request(join(&bob, Some(wrong_pairing()))).await;
    rate_limited(&second);
    assert_eq!(failures().await, 1, "a refused claim is no failure");
    // Even the right code is refused: the code is not looked at.
    rate_limited(&b.request(join(&bob, Some(pairing()))).await);
    assert_eq!(
        count(&server, "SELECT count(*) FROM access_records").await,
        1
    );

    // A join without a pairing_hash is not a claim.
    let mut again = Client::connect(&server, HERE).await;
    joined_room(&again.request(join(&alice, None)).await);

    // Another address may still claim.
    let mut elsewhere = Client::connect(&server, ELSEWHERE).await;
    joined_room(&elsewhere.request(join(&bob, Some(pairing()))).await);
    assert_eq!(
        count(&server, "SELECT count(*) FROM access_records").await,
        2
    );
}

#[tokio::test]
async fn the_frame_limit_is_per_connection_and_comes_after_session_state() {
    // STD1-SRV-18, STD1-SRV-21, STD1-WIRE-21, STD1-WIRE-22: 2 frames per
    // second, a burst of 4, per connection.
    let server = start(|s| {
        s.rate_limits = limits(RateSettings {
            frames_per_second: nz(2),
            ..RateSettings::OFF
        });
    })
    .await;
    let alice = party(1, "1234");

    // Without a session: the frames are pipelined so the allowance cannot
    // refill between them; every non-opening frame, within the allowance
    // or beyond it, is answered `not_joined`, and the create beyond it is
    // refused.
    let mut a = Client::connect(&server, HERE).await;
    for _ in 0..8 {
        a.send(ClientEvent::Typing).await;
    }
    a.send(ClientEvent::ExpireRoom).await;
    a.send(create(&alice, None)).await;
    for i in 0..9 {
        let (_, reply) = a.reply().await;
        assert_eq!(
            reason(&reply),
            Some(ErrorReason::NotJoined),
            "frame {i}: {reply:?}"
        );
    }
    rate_limited(&a.reply().await.1);
    assert_eq!(count(&server, "SELECT count(*) FROM rooms").await, 0);

    // Another connection from the same address has its own allowance.
    let mut b = Client::connect(&server, HERE).await;
    joined_room(&b.request(create(&alice, None)).await);

    // In a session: undecodable frames spend the allowance too; the
    // send_message beyond it is refused and stores nothing.
    for _ in 0..6 {
        b.send_raw("{}").await;
    }
    b.send(send_message(1, None)).await;
    for _ in 0..6 {
        let (text, reply) = b.reply().await;
        assert!(matches!(reply, ServerFrame::Error(_)), "{text}");
    }
    rate_limited(&b.reply().await.1);
    assert_eq!(count(&server, "SELECT count(*) FROM messages").await, 0);

    // The same send on a fresh connection of the same party is stored: it
    // was the limit, not the room's rules, that refused it.
    let mut c = Client::connect(&server, HERE).await;
    joined_room(&c.request(join(&alice, None)).await);
    sent_id(&c.request(send_message(1, None)).await);
    assert_eq!(count(&server, "SELECT count(*) FROM messages").await, 1);
}

// ---------------------------------------------------------------------------
// 2. The trusted-proxy header

#[tokio::test]
async fn the_forwarding_header_counts_only_from_trusted_proxies() {
    // STD1-SRV-21
    let server = start(|s| {
        s.rate_limits = limits(RateSettings {
            upgrades_per_minute: nz(1),
            ..RateSettings::OFF
        });
        s.client_address = Arc::new(ClientAddressSource {
            header: Some(HeaderName::from_static("x-forwarded-for")),
            trusted: vec!["127.0.0.1/32".parse().expect("net")],
        });
    })
    .await;
    let forwarded = |ip| [("x-forwarded-for", ip)];

    // From the trusted proxy, the header names the client.
    let _first = upgrade(server.addr, HERE, &forwarded("198.51.100.1"))
        .await
        .expect("first upgrade of 198.51.100.1");
    refused_upgrade(upgrade(server.addr, HERE, &forwarded("198.51.100.1")).await);
    let _other = upgrade(server.addr, HERE, &forwarded("198.51.100.2"))
        .await
        .expect("198.51.100.2 is another client");

    // From an untrusted peer, the header is ignored: the peer is the client.
    let _untrusted = upgrade(server.addr, ELSEWHERE, &forwarded("198.51.100.3"))
        .await
        .expect("first upgrade of 127.0.0.2");
    refused_upgrade(upgrade(server.addr, ELSEWHERE, &forwarded("198.51.100.4")).await);
}

// ---------------------------------------------------------------------------
// 3. The administration page

#[tokio::test]
async fn without_a_password_the_admin_page_is_an_unknown_path() {
    // STD1-SRV-24: disabled, and answered exactly as any unknown path.
    let server = start(|_| {}).await;
    let (unknown_status, unknown_headers, unknown_body) =
        http_get(server.addr, "/no-such-page", &[]).await;
    assert_eq!(unknown_status, 404);
    let authorization = basic("admin", "s3cret");
    for path in ["/admin", "/admin/admin.css", "/admin?from=2026-13-01"] {
        for headers in [&[][..], &[("Authorization", authorization.as_str())][..]] {
            let (status, response_headers, body) = http_get(server.addr, path, headers).await;
            assert_eq!(status, unknown_status, "{path}");
            assert_eq!(body, unknown_body, "{path}");
            assert_eq!(
                response_headers.get("content-type"),
                unknown_headers.get("content-type"),
                "{path}"
            );
            assert!(!response_headers.contains_key("www-authenticate"), "{path}");
        }
    }
}

#[tokio::test]
async fn the_admin_page_requires_the_configured_credentials() {
    // STD1-SRV-24, STD1-SRV-12
    let server = start(|s| s.admin = Some(Arc::new(AdminAuth::new("admin", "s3cret")))).await;

    let (status, headers, _) = http_get(server.addr, "/admin", &[]).await;
    assert_eq!(status, 401);
    let challenge = headers.get("www-authenticate").expect("a challenge");
    assert!(challenge.starts_with("Basic "), "{challenge}");
    assert_eq!(
        headers.get("cache-control").map(String::as_str),
        Some("no-store")
    );

    for wrong in [
        basic("admin", "s3cre"),
        basic("admin", "s3cret!"),
        basic("root", "s3cret"),
    ] {
        let (status, headers, body) =
            http_get(server.addr, "/admin", &[("Authorization", &wrong)]).await;
        assert_eq!(status, 401, "{wrong}");
        assert!(headers.contains_key("www-authenticate"));
        assert!(!body.contains("Messages sent"));
    }

    let right = basic("admin", "s3cret");
    let (status, headers, body) =
        http_get(server.addr, "/admin", &[("Authorization", &right)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        headers.get("cache-control").map(String::as_str),
        Some("no-store")
    );
    let csp = headers.get("content-security-policy").expect("a CSP");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert!(
        headers
            .get("content-type")
            .is_some_and(|t| t.starts_with("text/html")),
        "{headers:?}"
    );
    assert!(body.contains("Messages sent"));
    assert!(!body.to_ascii_lowercase().contains("<script"));

    let (status, headers, _) = http_get(
        server.addr,
        "/admin?from=2026-13-01",
        &[("Authorization", &right)],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        headers.get("cache-control").map(String::as_str),
        Some("no-store")
    );

    let (status, headers, body) = http_get(server.addr, "/admin/admin.css", &[]).await;
    assert_eq!(status, 200);
    assert!(
        headers
            .get("content-type")
            .is_some_and(|t| t.starts_with("text/css")),
        "{headers:?}"
    );
    assert!(!body.is_empty());
}

#[tokio::test]
async fn the_admin_page_is_rate_limited_per_address() {
    // STD1-SRV-24, STD1-SRV-21: even the right credentials are refused
    // over the limit, with 429 and Retry-After.
    let server = start(|s| {
        s.admin = Some(Arc::new(AdminAuth::new("admin", "s3cret")));
        s.rate_limits = limits(RateSettings {
            admin_per_minute: nz(3),
            ..RateSettings::OFF
        });
    })
    .await;
    let right = basic("admin", "s3cret");
    for i in 0..3 {
        let (status, _, _) = http_get(server.addr, "/admin", &[("Authorization", &right)]).await;
        assert_eq!(status, 200, "request {i}");
    }
    let (status, headers, body) =
        http_get(server.addr, "/admin", &[("Authorization", &right)]).await;
    assert_eq!(status, 429);
    let retry_after: u32 = headers
        .get("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After holds whole seconds");
    assert!(retry_after >= 1);
    assert!(!body.contains("Messages sent"));
}

// ---------------------------------------------------------------------------
// 4. The aggregate counters

/// Every counter stored for the days of the test, summed by name; a test
/// running over midnight UTC has its counts on two days.
async fn daily_totals(
    instance: &Instance,
    first: time::Date,
    last: time::Date,
) -> BTreeMap<String, i64> {
    let rows: Vec<(time::Date, String, i64)> =
        sqlx::query_as("SELECT day, counter, count FROM telemetry_daily")
            .fetch_all(&instance.pool)
            .await
            .expect("read telemetry_daily");
    let mut totals = BTreeMap::new();
    for (day, counter, count) in rows {
        assert!(
            (first..=last).contains(&day),
            "{counter} counted on {day}, outside {first}..={last}"
        );
        *totals.entry(counter).or_default() += count;
    }
    totals
}

async fn country_totals(instance: &Instance) -> BTreeMap<String, i64> {
    sqlx::query_as::<_, (String, i64)>("SELECT country_iso, rooms_created FROM telemetry_countries")
        .fetch_all(&instance.pool)
        .await
        .expect("read telemetry_countries")
        .into_iter()
        .collect()
}

fn expected(counts: &[(&str, i64)]) -> BTreeMap<String, i64> {
    counts.iter().map(|(n, c)| ((*n).to_owned(), *c)).collect()
}

/// STD1-SRV-22: the public schema holds the room tables and counter
/// tables of the allowed shapes, nothing else; no counter table can hold
/// or reach a room, a hash, an address or a fine time, and none holds any
/// of `identifiers`. Returns the counter tables.
async fn assert_counter_tables_hold_no_identifier(
    instance: &Instance,
    identifiers: &[String],
) -> Vec<String> {
    // The room tables, the migrations' bookkeeping and the pepper's check
    // value (STD1-SRV-26: one row of configuration, linked to nothing).
    const ROOM_TABLES: [&str; 5] = [
        "rooms",
        "access_records",
        "messages",
        "_sqlx_migrations",
        "pepper_check",
    ];
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
          WHERE table_schema = 'public' ORDER BY table_name",
    )
    .fetch_all(&instance.pool)
    .await
    .expect("list tables");
    let counter_tables: Vec<String> = tables
        .into_iter()
        .filter(|t| !ROOM_TABLES.contains(&t.as_str()))
        .collect();
    assert!(
        counter_tables.contains(&"telemetry_daily".to_owned())
            && counter_tables.contains(&"telemetry_countries".to_owned()),
        "{counter_tables:?}"
    );
    let daily_shape = [("day", "date"), ("counter", "text"), ("count", "bigint")];
    let country_shape = [("country_iso", "text"), ("rooms_created", "bigint")];
    for table in &counter_tables {
        let columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text FROM information_schema.columns
              WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(table)
        .fetch_all(&instance.pool)
        .await
        .expect("list columns");
        let columns: Vec<(&str, &str)> = columns
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        assert!(
            columns == daily_shape || columns == country_shape,
            "{table} is not a counter table: {columns:?}"
        );

        let types: Vec<String> = sqlx::query_scalar(
            "SELECT format_type(a.atttypid, a.atttypmod)
               FROM pg_attribute a
               JOIN pg_class c ON c.oid = a.attrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relname = $1
                AND a.attnum > 0 AND NOT a.attisdropped",
        )
        .bind(table)
        .fetch_all(&instance.pool)
        .await
        .expect("column types");
        for forbidden in [
            "uuid",
            "bytea",
            "inet",
            "cidr",
            "timestamp without time zone",
            "timestamp with time zone",
        ] {
            assert!(
                !types.iter().any(|t| t == forbidden),
                "{table} has a {forbidden} column"
            );
        }

        let foreign_keys: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_constraint k
               JOIN pg_class c ON c.oid IN (k.conrelid, k.confrelid)
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE k.contype = 'f' AND n.nspname = 'public' AND c.relname = $1",
        )
        .bind(table)
        .fetch_one(&instance.pool)
        .await
        .expect("foreign keys");
        assert_eq!(foreign_keys, 0, "{table} is joined to another table");

        // Every row as text: whatever its columns, no identifier of the
        // script may appear in it.
        let quoted = table.replace('"', "\"\"");
        let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT lower(t::text) FROM \"{quoted}\" t"
        )))
        .fetch_all(&instance.pool)
        .await
        .expect("read a counter table");
        for row in &rows {
            for id in identifiers {
                assert!(!row.contains(id.as_str()), "{table} holds {id}: {row}");
            }
        }
    }
    counter_tables
}

#[tokio::test]
async fn counters_count_a_conversation_and_hold_nothing_of_it() {
    // STD1-SRV-10, STD1-SRV-22
    let first_day = time::OffsetDateTime::now_utc().date();
    let mut telemetry = None;
    let server = start(|s| {
        s.telemetry = Arc::new(Telemetry::new(true));
        s.lockout = Lockout::new(
            NonZeroU32::new(2).expect("2"),
            NonZeroU32::new(60).expect("60"),
        )
        .expect("a lockout");
        s.rate_limits = limits(RateSettings {
            creates_per_minute: nz(1),
            ..RateSettings::OFF
        });
        telemetry = Some(Arc::clone(&s.telemetry));
    })
    .await;
    let telemetry = telemetry.expect("configured");
    let (alice, bob, carol, dave) = (
        party(1, "1234"),
        party(1, "9999"),
        party(1, "0000"),
        party(2, "1234"),
    );

    let mut a = Client::connect(&server, HERE).await;
    let room_id = joined_room(&a.request(create(&alice, Some("FR"))).await);
    let mut b = Client::connect(&server, HERE).await;
    assert_eq!(
        joined_room(&b.request(join(&bob, Some(pairing()))).await),
        room_id
    );
    let m1 = sent_id(&a.request(send_message(1, None)).await);
    let m2 = sent_id(&b.request(send_message(2, Some(m1))).await);

    // Wrong PINs until the room locks (two failures).
    let mut c = Client::connect(&server, HERE).await;
    assert_eq!(
        reason(&c.request(join(&carol, None)).await),
        Some(ErrorReason::Unauthorized)
    );
    assert_eq!(
        reason(&c.request(join(&carol, None)).await),
        Some(ErrorReason::Locked)
    );
    assert_eq!(
        reason(&c.request(join(&carol, None)).await),
        Some(ErrorReason::Locked),
        "a lock in force is no new lockout"
    );

    // A create over the limit of one per minute.
    let mut d = Client::connect(&server, HERE).await;
    rate_limited(&d.request(create(&dave, Some("DE"))).await);

    let mut identifiers: Vec<String> = [&alice, &bob, &carol, &dave]
        .iter()
        .flat_map(|p| {
            [
                p.room_hash.to_hex(),
                p.access_hash.to_hex(),
                p.sender_hash.to_hex(),
            ]
        })
        .collect();
    identifiers.push(pairing().to_hex());
    identifiers.push(room_id.to_string());
    identifiers.push(room_id.as_uuid().simple().to_string());
    identifiers.push(m1.to_string());
    identifiers.push(m2.to_string());
    identifiers.push(HERE.to_owned());

    telemetry.flush(&server.pool).await.expect("flush");
    let last_day = time::OffsetDateTime::now_utc().date();
    let during = daily_totals(&server, first_day, last_day).await;
    assert_eq!(
        during,
        expected(&[
            ("rooms_created", 1),
            ("rooms_paired", 1),
            ("messages_sent", 2),
            ("lockouts", 1),
            ("rate_limited_create", 1),
        ])
    );
    // The refused create's country was not counted.
    assert_eq!(country_totals(&server).await, expected(&[("FR", 1)]));
    let tables = assert_counter_tables_hold_no_identifier(&server, &identifiers).await;

    // The room ends; the counters keep their counts and nothing of the room.
    let ended = a.request(ClientEvent::ExpireRoom).await;
    assert!(matches!(ended, ServerFrame::Ok(_)), "{ended:?}");
    for table in ["rooms", "access_records", "messages"] {
        let sql = format!("SELECT count(*) FROM {table}");
        let left: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&server.pool)
            .await
            .expect("count");
        assert_eq!(left, 0, "{table}");
    }
    telemetry.flush(&server.pool).await.expect("flush");
    let last_day = time::OffsetDateTime::now_utc().date();
    let mut after = during.clone();
    after.insert("expired_by_party".into(), 1);
    assert_eq!(daily_totals(&server, first_day, last_day).await, after);
    assert_eq!(country_totals(&server).await, expected(&[("FR", 1)]));
    assert_eq!(
        assert_counter_tables_hold_no_identifier(&server, &identifiers).await,
        tables
    );
}

// ---------------------------------------------------------------------------
// 5. The metrics endpoint

/// The length of the longest run of hexadecimal digits in `text`.
fn longest_hex_run(text: &str) -> usize {
    text.split(|c: char| !c.is_ascii_hexdigit())
        .map(str::len)
        .max()
        .unwrap_or(0)
}

/// Whether `text` holds a UUID in its 8-4-4-4-12 form, in either case.
fn has_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.windows(36).any(|w| {
        w.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
    })
}

#[tokio::test]
async fn metrics_expose_no_identifier() {
    // STD1-SRV-23
    let handle = stelgano_server::metrics::install().expect("the Prometheus recorder");
    let mut state = None;
    let server = start(|s| state = Some(s.clone())).await;
    let state = state.expect("configured");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let metrics_addr = listener.local_addr().expect("address");
    let metrics = tokio::spawn(async move {
        axum::serve(listener, stelgano_server::metrics::router(state, handle)).await
    });

    let (alice, bob) = (party(1, "1234"), party(1, "9999"));
    let mut a = Client::connect(&server, HERE).await;
    let room_id = joined_room(&a.request(create(&alice, Some("NO"))).await);
    let mut b = Client::connect(&server, HERE).await;
    joined_room(&b.request(join(&bob, Some(pairing()))).await);
    let m1 = sent_id(&a.request(send_message(1, None)).await);
    // A refused request: an error reason reaches the metrics too.
    assert_eq!(
        reason(&a.request(send_message(3, None)).await),
        Some(ErrorReason::NotYourTurn)
    );

    let (status, headers, body) = http_get(metrics_addr, "/metrics", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        headers
            .get("content-type")
            .is_some_and(|t| t.starts_with("text/plain")),
        "{headers:?}"
    );
    for name in [
        "stelgano_replies_total",
        "stelgano_request_duration_seconds",
        "stelgano_connections",
    ] {
        assert!(body.contains(name), "{name} missing:\n{body}");
    }
    assert!(body.contains("not_your_turn"), "{body}");

    assert!(longest_hex_run(&body) < 64, "{body}");
    assert!(!has_uuid(&body), "{body}");
    assert!(!body.contains(HERE), "{body}");
    assert!(!body.contains("\"NO\""), "{body}");
    assert!(!body.to_ascii_lowercase().contains("country"), "{body}");
    let mut identifiers: Vec<String> = [&alice, &bob]
        .iter()
        .flat_map(|p| {
            [
                p.room_hash.to_hex(),
                p.access_hash.to_hex(),
                p.sender_hash.to_hex(),
            ]
        })
        .collect();
    identifiers.push(pairing().to_hex());
    identifiers.push(room_id.to_string());
    identifiers.push(m1.to_string());
    let lower = body.to_ascii_lowercase();
    for id in &identifiers {
        assert!(!lower.contains(id.as_str()), "the metrics hold {id}");
    }
    metrics.abort();
}

#[tokio::test]
async fn a_failed_batch_is_kept_for_the_next_one() {
    // STD1-SRV-22, D-42: increments live in memory until a batch is written;
    // a write that fails loses nothing.
    use stelgano_server::telemetry::Counter;
    let telemetry = Telemetry::new(true);
    telemetry.count_n(Counter::MessagesSent, 3);
    telemetry.count_country("SE".parse().expect("code"));
    let today = time::OffsetDateTime::now_utc().date();

    let closed = common::fresh_pool().await;
    closed.close().await;
    assert!(telemetry.flush(&closed).await.is_err());
    assert_eq!(telemetry.pending_for(today).get(Counter::MessagesSent), 3);

    let pool = common::fresh_pool().await;
    telemetry.flush(&pool).await.expect("written");
    let stored: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(count), 0)::bigint FROM telemetry_daily WHERE counter = 'messages_sent'",
    )
    .fetch_one(&pool)
    .await
    .expect("sum");
    assert_eq!(stored, 3);
    let sweden: i64 = sqlx::query_scalar(
        "SELECT rooms_created FROM telemetry_countries WHERE country_iso = 'SE'",
    )
    .fetch_one(&pool)
    .await
    .expect("country total");
    assert_eq!(sweden, 1);
    // Written once: the memory is empty again.
    assert_eq!(telemetry.pending_for(today).get(Counter::MessagesSent), 0);
}
