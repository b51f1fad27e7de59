//! The `browser` suite: the target's web client in headless Chromium,
//! driven through WebDriver (fantoccini and chromedriver, started for the
//! run), every byte between browser and server recorded by a proxy.
//!
//! Checks:
//! * `browser/vectors-*`: the spec's vectors and fresh random cases
//!   recomputed by the client's module in the browser's Web Crypto and
//!   compared with the Rust spec crate;
//! * `browser/conversation`: two browsers hold a whole conversation;
//! * the slips of spec §12.5, each its own check (`slips.rs`): a PIN
//!   mistyped when joining, a slot re-opened after one, app switches, a
//!   returning wrong PIN, national numbers, typed spacing, a lost
//!   connection while writing, the number to share, the in-place opening,
//!   the lifetime, the waiting card and delete, emoji at the limit, Arabic,
//!   a lock by guessing, who ended the room;
//! * the client in other browsers (`presentation.rs`): dark, Spanish and
//!   the language switch, a desktop window, no JavaScript;
//! * `browser/axe-<screen>`: axe-core finds no WCAG 2.2 A/AA violation on
//!   each screen looked at, in each theme and language (STD1-CLI-24);
//! * `browser/layout`: no screen is wider than its viewport (STD1-CLI-24);
//! * `browser/hygiene`: no storage, cookies, service worker or manifest,
//!   the address always `/`, a neutral title, and secret fields that
//!   password managers, keyboards and translators leave alone;
//! * `browser/blindness`: nothing the users typed, no plaintext and no key
//!   reached the server, by the proxy's decoding of every request and
//!   WebSocket frame (STD1-CLI-1);
//! * `browser/admin-page`, `browser/admin-counters`, `browser/admin-charts`
//!   and `browser/axe-admin`: where the harness knows the administration
//!   password (its own reference server), the page `/admin` opened
//!   authenticated after the conversation shows its title, counts the
//!   conversation's messages, draws its charts and passes axe-core
//!   (STD1-SRV-24, STD1-CLI-24); with a `--target` they are not run, and
//!   the summary says so.

pub mod admin;
pub mod axe;
pub mod blindness;
pub mod conversation;
pub mod driver;
pub mod hygiene;
pub mod look;
pub mod page;
pub mod presentation;
pub mod proxy;
pub mod slips;
pub mod traffic;
pub mod vectors;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use stelgano_spec::derive::{Phone, enc_key};
use stelgano_spec::ids::RoomId;

use crate::report::{CheckResult, Verdict};
use conversation::Conversation;
use driver::{Browsers, Driver};
use look::Recorder;
use page::Page;
use proxy::RecordingProxy;

/// The requirements of the conversation check.
const CONVERSATION: [&str; 14] = [
    "STD1-CLI-2",
    "STD1-CLI-17",
    "STD1-CLI-10",
    "STD1-CLI-16",
    "STD1-CLI-5",
    "STD1-CLI-6",
    "STD1-CLI-9",
    "STD1-CLI-11",
    "STD1-CLI-12",
    "STD1-CLI-14",
    "STD1-CLI-15",
    "STD1-CLI-18",
    "STD1-CLI-19",
    "STD1-LIFE-9",
];

/// Every requirement a browser check names (for `coverage`); the vector
/// checks add the requirements their vector files list.
pub fn requirements() -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = CONVERSATION
        .iter()
        .chain(&hygiene::REQUIREMENTS)
        .chain(&traffic::REQUIREMENTS)
        .chain(&admin::REQUIREMENTS)
        .chain(&slips::REQUIREMENTS)
        .chain(&presentation::REQUIREMENTS)
        .chain(&["STD1-CLI-1", "STD1-CLI-24", "STD1-SRV-2"])
        .copied()
        .collect();
    ids.extend(vectors::requirements());
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// What the suite measured, for the run's summary line.
#[derive(Debug, Default)]
pub struct BrowserSummary {
    /// Submit to the next screen, by step (`create`, `pair`, `unlock`,
    /// `login`), PBKDF2 included.
    pub timings: Vec<(String, Duration)>,
    /// Bytes the browsers sent, and WebSocket frames among them, that the
    /// blindness check read.
    pub bytes_inspected: usize,
    pub frames_inspected: usize,
    pub screenshots: Vec<PathBuf>,
    /// What became of the administration page: the "Messages sent" total
    /// it showed, or why it was not looked at.
    pub admin: AdminSummary,
}

/// The administration page's part of the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminSummary {
    /// Looked at; the "Messages sent" total, if the page showed one.
    Checked { messages_sent: Option<u64> },
    /// Not looked at, and why (not a failure).
    NotChecked(String),
}

impl Default for AdminSummary {
    fn default() -> Self {
        Self::NotChecked("no administration credentials".into())
    }
}

impl std::fmt::Display for AdminSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Checked {
                messages_sent: Some(n),
            } => write!(f, "checked, {} {n}", admin::MESSAGES_SENT),
            Self::Checked {
                messages_sent: None,
            } => write!(f, "checked, no {} total found", admin::MESSAGES_SENT),
            Self::NotChecked(why) => write!(f, "not checked ({why})"),
        }
    }
}

/// Why the suite cannot run here at all.
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    #[error(transparent)]
    Driver(#[from] driver::DriverError),
    #[error("{0}")]
    Axe(String),
}

/// Whether the browsers and axe-core are here; the CLI turns a missing
/// one into a skipped suite, or a failure where the suite is mandatory.
pub fn available() -> Result<(Browsers, String), Unavailable> {
    let browsers = Browsers::find()?;
    let axe_source = axe::load().map_err(Unavailable::Axe)?;
    Ok((browsers, axe_source))
}

/// Runs the suite against the server behind `ws_url` (its client is served
/// at the same host and port). With `admin`, the credentials of the
/// server's administration page, the page is checked after the
/// conversation; without them (a `--target`, whose password the harness
/// does not know) it is not, and the summary says so.
pub async fn run(
    ws_url: &str,
    browsers: &Browsers,
    axe_source: String,
    screenshots: Option<PathBuf>,
    admin: Option<&admin::Credentials>,
) -> (Vec<CheckResult>, BrowserSummary) {
    let started = Instant::now();
    let mut summary = BrowserSummary::default();
    let fail_all = |why: String| {
        vec![CheckResult::new(
            "browser",
            "conversation",
            ids(&["STD1-CLI-1"]),
            Verdict::Fail(why),
            started.elapsed(),
        )]
    };
    let upstream = match upstream_of(ws_url) {
        Ok(addr) => addr,
        Err(e) => return (fail_all(e), summary),
    };
    let proxy = match RecordingProxy::start(upstream).await {
        Ok(p) => p,
        Err(e) => {
            return (
                fail_all(format!("starting the recording proxy: {e}")),
                summary,
            );
        }
    };
    let driver = match Driver::start(browsers).await {
        Ok(d) => d,
        Err(e) => return (fail_all(e.to_string()), summary),
    };
    let (alice, bob, carol) = match tokio::try_join!(
        driver.session("alice"),
        driver.session("bob"),
        driver.session("carol")
    ) {
        Ok(three) => three,
        Err(e) => return (fail_all(e.to_string()), summary),
    };
    let base = format!("http://{}/", proxy.addr);

    let mut results = Vec::new();
    // The vectors first, on the entry page.
    match alice.goto(&base).await {
        Ok(()) => results.extend(vectors::run(&alice).await),
        Err(e) => results.extend(fail_all(format!("loading the client: {e}"))),
    }

    let mut rec = Recorder::new(Some(axe_source.clone()), screenshots.clone());
    let page = |name, client| Page { name, client };
    let conversation =
        conversation::run(page("Alice", &alice), page("Bob", &bob), &base, &mut rec).await;
    results.push(conversation_check(&conversation, started.elapsed()));
    let mut timings = conversation.timings.clone();
    let stage = slips::Stage {
        a: page("Alice", &alice),
        b: page("Bob", &bob),
        c: page("Carol", &carol),
        base: base.clone(),
        upstream,
        ws_url: ws_url.to_owned(),
    };
    results.extend(slips::run(&stage, &mut rec, &mut timings).await);
    results.extend(presentation::run(&driver, &stage.b, &base, &mut rec).await);
    for client in [&alice, &bob, &carol] {
        let _ = client.clone().close().await;
    }
    for (screen, found) in &rec.axe {
        let verdict = match found {
            Ok(v) if v.is_empty() => Verdict::Pass,
            Ok(v) => Verdict::Fail(format!("{} violations: {}", v.len(), v.join("; "))),
            Err(e) => Verdict::Fail(format!("axe-core did not run: {e}")),
        };
        results.push(CheckResult::new(
            "browser",
            &format!("axe-{screen}"),
            ids(&["STD1-CLI-24"]),
            verdict,
            Duration::ZERO,
        ));
    }
    let layout = if rec.overflow.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail(format!(
            "wider than the viewport: {}",
            rec.overflow.join("; ")
        ))
    };
    let mut layout = CheckResult::new(
        "browser",
        "layout",
        ids(&["STD1-CLI-24"]),
        layout,
        Duration::ZERO,
    );
    layout.detail = Some(format!(
        "{} screens looked at without horizontal scrolling",
        rec.axe.len()
    ));
    results.push(layout);
    // Decoded once, read by both checks.
    let decoded = blindness::decode(&proxy.recorded()).map_err(|e| e.to_string());
    results.push(blindness_check(&decoded, &conversation, &mut summary));
    results.push(traffic_check(&decoded));
    let hygiene = match conversation.hygiene.as_slice() {
        [] if conversation.failure.is_none() => Verdict::Pass,
        [] => Verdict::Fail("the conversation ended before every look".into()),
        found => Verdict::Fail(found.join("; ")),
    };
    results.push(CheckResult::new(
        "browser",
        "hygiene",
        ids(&hygiene::REQUIREMENTS),
        hygiene,
        Duration::ZERO,
    ));
    summary.timings = timings;
    summary.screenshots = rec.screenshots.clone();
    // Last, so that its counters include every message the conversation
    // sent; in a browser of its own, straight to the server (`admin.rs`).
    summary.admin = match admin {
        Some(credentials) => {
            let look = admin::run(
                &driver,
                upstream,
                credentials,
                &axe_source,
                screenshots.as_deref(),
            )
            .await;
            results.extend(look.checks);
            summary.screenshots.extend(look.screenshot);
            AdminSummary::Checked {
                messages_sent: look.messages_sent,
            }
        }
        None => AdminSummary::NotChecked(
            "a --target's password is not known; only the reference server's is".into(),
        ),
    };
    (results, summary)
}

/// One check's outcome: a detail line when it passed, the reason when not.
pub(crate) type Outcome = Result<String, String>;

/// The result of a check of the slips or presentations, named and cited.
pub(crate) fn outcome_check(
    name: &str,
    requirements: &[&str],
    outcome: Outcome,
    took: Duration,
) -> CheckResult {
    let (verdict, detail) = match outcome {
        Ok(detail) => (Verdict::Pass, Some(detail)),
        Err(why) => (Verdict::Fail(why), None),
    };
    let mut check = CheckResult::new("browser", name, ids(requirements), verdict, took);
    check.detail = detail;
    check
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// `ws://host:port/path` to the server's socket address.
fn upstream_of(ws_url: &str) -> Result<SocketAddr, String> {
    let rest = ws_url
        .strip_prefix("ws://")
        .ok_or_else(|| format!("the browser suite needs a ws:// target, not {ws_url}"))?;
    let authority = rest.split('/').next().unwrap_or(rest);
    authority
        .to_socket_addrs()
        .map_err(|e| format!("{authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("{authority} has no address"))
}

fn conversation_check(c: &Conversation, took: Duration) -> CheckResult {
    let verdict = match &c.failure {
        None => Verdict::Pass,
        Some(why) => Verdict::Fail(format!(
            "after {} steps ({}): {why}",
            c.steps.len(),
            c.steps.last().map_or("none", String::as_str)
        )),
    };
    let mut check = CheckResult::new("browser", "conversation", ids(&CONVERSATION), verdict, took);
    check.detail = Some(format!(
        "{}; submit to screen: {}",
        c.steps.join("; "),
        c.timings
            .iter()
            .map(|(step, t)| format!("{step} {:.2} s", t.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    check
}

/// The client's protocol manners in its frames (STD1-ENC-2, STD1-MSG-11,
/// STD1-MSG-13).
fn traffic_check(decoded: &Result<blindness::Decoded, String>) -> CheckResult {
    let (verdict, detail) = match decoded {
        Err(e) => (Verdict::Fail(e.clone()), None),
        Ok(decoded) => {
            let (found, encryptions, receipts) = traffic::problems(&decoded.sessions);
            let verdict = if !found.is_empty() {
                Verdict::Fail(found.join("; "))
            } else if encryptions < 2 || receipts < 1 {
                Verdict::Fail(format!(
                    "too little traffic to judge: {encryptions} encryptions, {receipts} read receipts"
                ))
            } else {
                Verdict::Pass
            };
            (
                verdict,
                Some(format!(
                    "{encryptions} encryptions with distinct IVs, {receipts} read receipts, over {} sessions",
                    decoded.sessions.len()
                )),
            )
        }
    };
    let mut check = CheckResult::new(
        "browser",
        "traffic",
        ids(&traffic::REQUIREMENTS),
        verdict,
        Duration::ZERO,
    );
    check.detail = detail;
    check
}

/// STD1-CLI-1: the server never receives the number, a PIN, the pairing
/// code, a plaintext or the key.
fn blindness_check(
    decoded: &Result<blindness::Decoded, String>,
    c: &Conversation,
    summary: &mut BrowserSummary,
) -> CheckResult {
    let verdict = match decoded
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|decoded| blindness_verdict(decoded, &c.secrets, summary))
    {
        Ok(()) => Verdict::Pass,
        Err(e) => Verdict::Fail(e),
    };
    let mut check = CheckResult::new(
        "browser",
        "blindness",
        ids(&["STD1-CLI-1", "STD1-SRV-2"]),
        verdict,
        Duration::ZERO,
    );
    check.detail = Some(format!(
        "{} bytes from the browsers read, {} WebSocket frames unmasked",
        summary.bytes_inspected, summary.frames_inspected
    ));
    check
}

fn blindness_verdict(
    decoded: &blindness::Decoded,
    s: &conversation::Secrets,
    summary: &mut BrowserSummary,
) -> Result<(), String> {
    summary.bytes_inspected = decoded.bytes;
    summary.frames_inspected = decoded.frames;
    if s.number.is_empty() {
        return Err("the conversation did not get as far as a number".into());
    }
    let digits: String = s.number.chars().filter(char::is_ascii_digit).collect();
    let phone = Phone::parse(&digits).map_err(|e| format!("the number {digits}: {e}"))?;
    // Positive control: the room hash the client sent is in the decoding,
    // so absence below means something.
    let room_hash = stelgano_spec::derive::room_hash(&phone).to_hex();
    if !decoded.sent.contains(&room_hash) {
        return Err("the decoded traffic lacks the room hash the client must have sent; the recording cannot be trusted".into());
    }
    // The key of every room the server named.
    let mut keys = Vec::new();
    for frame in &decoded.received {
        for id in room_ids(frame) {
            let key = enc_key(&phone, &id);
            keys.push(stelgano_spec::b64::encode(key.as_bytes()));
            keys.push(key.as_bytes().iter().map(|b| format!("{b:02x}")).collect());
        }
    }
    if keys.is_empty() {
        return Err("no room_id in the server's frames: the key cannot be looked for".into());
    }
    // Separators a client might put in a number, removed before looking.
    let squeezed: String = decoded
        .sent
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.' | '\u{a0}'))
        .collect();
    let code = s.pairing_code.replace('-', "");
    let mut needles: Vec<(&str, String)> = vec![
        ("the steg number", digits.clone()),
        ("the pairing code", code),
    ];
    needles.extend(s.pins.iter().map(|p| ("a PIN", p.clone())));
    needles.extend(s.plaintexts.iter().map(|p| ("a plaintext", p.clone())));
    needles.extend(keys.into_iter().map(|k| ("the message key", k)));
    for (what, needle) in needles {
        if squeezed.contains(&needle) || decoded.sent.contains(&needle) {
            return Err(format!("the server was sent {what}"));
        }
    }
    Ok(())
}

/// The `room_id` values in a server frame.
fn room_ids(frame: &str) -> Vec<RoomId> {
    let mut out = Vec::new();
    let mut rest = frame;
    while let Some(at) = rest.find("\"room_id\":\"") {
        rest = &rest[at + 11..];
        if let Some(id) = rest.get(..36).and_then(|s| s.parse().ok()) {
            out.push(id);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use conversation::Secrets;
    use proxy::Recorded;

    const ROOM_ID: &str = "6f1c2a4e-8b3d-4f5a-9c7e-1d2b3a4c5d6e";

    fn masked(text: &str) -> Vec<u8> {
        let key = [7_u8, 1, 9, 3];
        let len = u16::try_from(text.len()).expect("short");
        let mut frame = vec![0x81, 0x80 | 126];
        frame.extend_from_slice(&len.to_be_bytes());
        frame.extend_from_slice(&key);
        frame.extend(text.bytes().enumerate().map(|(i, b)| b ^ key[i % 4]));
        frame
    }

    /// A session whose client sent `frame` after a join with the room hash.
    fn session(number: &str, frame: &str) -> Vec<Recorded> {
        let phone = Phone::parse(number).expect("number");
        let room = stelgano_spec::derive::room_hash(&phone).to_hex();
        let mut up = b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n".to_vec();
        up.extend(masked(&format!(
            "{{\"event\":\"join\",\"data\":{{\"room_hash\":\"{room}\"}}}}"
        )));
        up.extend(masked(frame));
        let mut down = b"HTTP/1.1 101 Switching Protocols\r\n\r\n".to_vec();
        let joined = format!("{{\"ok\":{{\"room_id\":\"{ROOM_ID}\"}}}}");
        down.push(0x81);
        down.push(u8::try_from(joined.len()).expect("short"));
        down.extend_from_slice(joined.as_bytes());
        vec![Recorded { up, down }]
    }

    fn verdict(
        recorded: &[Recorded],
        secrets: &Secrets,
        summary: &mut BrowserSummary,
    ) -> Result<(), String> {
        let decoded = blindness::decode(recorded).map_err(|e| e.to_string())?;
        blindness_verdict(&decoded, secrets, summary)
    }

    fn secrets() -> Secrets {
        Secrets {
            number: "+1 702 221 5672".into(),
            pins: vec!["a-pin-qwertzui".into()],
            pairing_code: "P2K4-9H7M".into(),
            plaintexts: vec!["meet at noon".into()],
        }
    }

    #[test]
    fn ciphertext_only_traffic_passes() {
        let recorded = session("17022215672", "{\"ciphertext\":\"AAAA\"}");
        let mut summary = BrowserSummary::default();
        assert_eq!(verdict(&recorded, &secrets(), &mut summary), Ok(()));
        assert_eq!(summary.frames_inspected, 2);
    }

    #[test]
    fn every_kind_of_secret_is_caught() {
        let phone = Phone::parse("17022215672").expect("number");
        let id: RoomId = ROOM_ID.parse().expect("room id");
        let key = stelgano_spec::b64::encode(enc_key(&phone, &id).as_bytes());
        for (leak, what) in [
            ("a-pin-qwertzui", "a PIN"),
            ("meet at noon", "a plaintext"),
            ("P2K49H7M", "the pairing code"),
            ("+1 (702) 221-5672", "the steg number"),
            (key.as_str(), "the message key"),
        ] {
            let recorded = session("17022215672", &format!("{{\"x\":\"{leak}\"}}"));
            let found = verdict(&recorded, &secrets(), &mut BrowserSummary::default());
            assert_eq!(found, Err(format!("the server was sent {what}")), "{leak}");
        }
    }

    #[test]
    fn a_recording_without_the_room_hash_is_not_trusted() {
        let mut recorded = session("17022215672", "{}");
        recorded[0].up.truncate(40);
        let found = verdict(&recorded, &secrets(), &mut BrowserSummary::default());
        assert!(found.is_err_and(|e| e.contains("cannot be trusted")));
    }
}
