//! The administration page `/admin` (STD1-SRV-24) of a server whose
//! password the harness knows, which is only the reference server it
//! started itself: after the conversation, a browser of its own opens the
//! page authenticated, reads the "Messages sent" counter (which must count
//! the conversation's messages, still unflushed for today), looks for the
//! charts, runs axe-core and photographs the dashboard.
//!
//! # How the browser authenticates
//!
//! The page asks for HTTP Basic authentication. The browser is sent to
//! `http://USER:PASSWORD@HOST:PORT/admin`: Chromium refuses credentials in
//! the address of a subresource but still accepts them for a top-level
//! navigation, answers the server's `401` challenge with them and keeps
//! them for the protection space, so that the stylesheet
//! (`/admin/admin.css`) is fetched with them too. The `admin-page` check
//! confirms the stylesheet was applied, so a Chromium that stopped doing
//! this would fail loudly rather than photograph an unstyled page.
//!
//! Two other ways were weighed and not taken: a DevTools command
//! (`Network.setExtraHTTPHeaders` through chromedriver's `goog/cdp/execute`)
//! works only with Chromium's driver and only per tab; and the suite's
//! recording proxy with an injected `Authorization` header would mix the
//! administrator's traffic into the recording that the blindness check
//! reads. The page is therefore loaded from the server directly, not
//! through the proxy.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::Client;
use serde_json::Value;

use super::axe;
use super::driver::Driver;
use super::page::SCREEN_TIMEOUT;
use crate::report::{CheckResult, Verdict};

/// The requirement the page checks cite.
pub const REQUIREMENTS: [&str; 1] = ["STD1-SRV-24"];

/// The label of the counter that must count the conversation's messages.
pub const MESSAGES_SENT: &str = "Messages sent";

/// The file the dashboard's screenshot is written to.
pub const SCREENSHOT: &str = "admin-dashboard.png";

/// The viewport the dashboard is looked at and photographed in, in CSS
/// pixels: a laptop's screen, where its counter cards sit three abreast.
/// The session is the page's own, so no other check sees the size and
/// there is nothing to restore.
const VIEWPORT: (u32, u32) = (1280, 900);

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);

/// The administration page's user and password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"..")
            .finish()
    }
}

/// What looking at the page gave.
#[derive(Debug, Default)]
pub struct AdminLook {
    pub checks: Vec<CheckResult>,
    /// The "Messages sent" total the page showed.
    pub messages_sent: Option<u64>,
    pub screenshot: Option<PathBuf>,
}

/// `http://USER:PASSWORD@ADDR/admin`, user and password percent-encoded
/// as the userinfo of a URL (RFC 3986) requires.
pub fn address(server: SocketAddr, credentials: &Credentials) -> String {
    format!(
        "http://{}:{}@{server}/admin",
        userinfo(&credentials.user),
        userinfo(&credentials.password)
    )
}

/// Percent-encodes all but the unreserved characters.
fn userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Opens the page of the server at `server` in a new browser of `driver`
/// and checks it; writes `admin-dashboard.png` into `screenshots` if given.
pub async fn run(
    driver: &Driver,
    server: SocketAddr,
    credentials: &Credentials,
    axe_source: &str,
    screenshots: Option<&Path>,
) -> AdminLook {
    let started = Instant::now();
    let client = match driver.desktop_session("admin").await {
        Ok(c) => c,
        Err(e) => {
            return AdminLook {
                checks: vec![check(
                    "admin-page",
                    &REQUIREMENTS,
                    Verdict::Fail(e.to_string()),
                    started.elapsed(),
                )],
                ..AdminLook::default()
            };
        }
    };
    let look = look(
        &client,
        server,
        credentials,
        axe_source,
        screenshots,
        started,
    )
    .await;
    let _ = client.close().await;
    look
}

async fn look(
    client: &Client,
    server: SocketAddr,
    credentials: &Credentials,
    axe_source: &str,
    screenshots: Option<&Path>,
    started: Instant,
) -> AdminLook {
    let mut out = AdminLook::default();
    // Sized before the page loads, so that it lays out once.
    if let Err(e) = fit_viewport(client, VIEWPORT).await {
        out.checks.push(check(
            "admin-page",
            &REQUIREMENTS,
            Verdict::Fail(format!("sizing the window: {e}")),
            started.elapsed(),
        ));
        return out;
    }
    if let Err(e) = open(client, server, credentials).await {
        out.checks.push(check(
            "admin-page",
            &REQUIREMENTS,
            Verdict::Fail(e),
            started.elapsed(),
        ));
        return out;
    }
    let (verdict, detail) = match evaluate(client, PAGE).await {
        Ok(found) => page_verdict(&found),
        Err(e) => (Verdict::Fail(e), None),
    };
    let mut page = check("admin-page", &REQUIREMENTS, verdict, started.elapsed());
    page.detail = detail;
    out.checks.push(page);

    let (verdict, detail) = match evaluate(client, &counter_script(MESSAGES_SENT)).await {
        Ok(found) => {
            let (verdict, detail, total) = counter_verdict(&found);
            out.messages_sent = total;
            (verdict, detail)
        }
        Err(e) => (Verdict::Fail(e), None),
    };
    let mut counter = check("admin-counters", &REQUIREMENTS, verdict, Duration::ZERO);
    counter.detail = detail;
    out.checks.push(counter);

    let (verdict, detail) = match evaluate(client, &charts_script(MESSAGES_SENT)).await {
        Ok(found) => charts_verdict(&found),
        Err(e) => (Verdict::Fail(e), None),
    };
    let mut charts = check("admin-charts", &REQUIREMENTS, verdict, Duration::ZERO);
    charts.detail = detail;
    out.checks.push(charts);

    let verdict = match axe::violations(client, axe_source).await {
        Ok(v) if v.is_empty() => Verdict::Pass,
        Ok(v) => Verdict::Fail(format!("{} violations: {}", v.len(), v.join("; "))),
        Err(e) => Verdict::Fail(format!("axe-core did not run: {e}")),
    };
    // Cited like the client's screens: the same WCAG 2.2 AA rules.
    out.checks.push(check(
        "axe-admin",
        &["STD1-CLI-24"],
        verdict,
        Duration::ZERO,
    ));

    if let Some(dir) = screenshots {
        // From the top: axe-core may have scrolled while it looked.
        let _ = client.execute("window.scrollTo(0, 0);", vec![]).await;
        if let Ok(png) = client.screenshot().await {
            let path = dir.join(SCREENSHOT);
            if std::fs::create_dir_all(dir).is_ok() && std::fs::write(&path, png).is_ok() {
                out.screenshot = Some(path);
            }
        }
    }
    out
}

/// Sizes the window so that its viewport, what a screenshot shows, is
/// `width` × `height`: WebDriver sets the outer window, whose frame takes
/// a share that differs between Chromium versions and modes, so the
/// difference is measured and added.
async fn fit_viewport(client: &Client, (width, height): (u32, u32)) -> Result<(), String> {
    client
        .set_window_size(width, height)
        .await
        .map_err(|e| e.to_string())?;
    let inner = evaluate(client, "return [window.innerWidth, window.innerHeight];").await?;
    let measured = |i: usize| inner[i].as_u64().and_then(|n| u32::try_from(n).ok());
    let (Some(inner_width), Some(inner_height)) = (measured(0), measured(1)) else {
        return Err(format!("the viewport measured {inner}"));
    };
    if (inner_width, inner_height) != (width, height) {
        client
            .set_window_size(
                (2 * width).saturating_sub(inner_width),
                (2 * height).saturating_sub(inner_height),
            )
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn check(name: &str, ids: &[&str], verdict: Verdict, took: Duration) -> CheckResult {
    CheckResult::new(
        "browser",
        name,
        ids.iter().map(|s| (*s).to_owned()).collect(),
        verdict,
        took,
    )
}

/// Navigates with the credentials in the address and waits until the
/// document and its stylesheet have loaded.
async fn open(
    client: &Client,
    server: SocketAddr,
    credentials: &Credentials,
) -> Result<(), String> {
    client
        .goto(&address(server, credentials))
        .await
        .map_err(|e| format!("loading /admin: {e}"))?;
    let deadline = tokio::time::Instant::now() + SCREEN_TIMEOUT;
    loop {
        let ready = client
            .execute("return document.readyState === 'complete';", vec![])
            .await
            .map_err(|e| e.to_string())?;
        if ready == Value::Bool(true) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "/admin did not finish loading in {SCREEN_TIMEOUT:?}"
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn evaluate(client: &Client, script: &str) -> Result<Value, String> {
    client
        .execute(script, vec![])
        .await
        .map_err(|e| e.to_string())
}

/// The page's title and heading, whether its stylesheet applied, and what
/// the CSP forbids (STD1-SRV-24, STD1-SRV-12): scripts, `<style>` elements,
/// `style` attributes and event handler attributes.
const PAGE: &str = r"
const h1 = document.querySelector('h1');
const sheets = Array.from(document.styleSheets).filter((s) => {
  try { return s.cssRules.length > 0; } catch (e) { return false; }
});
const handlers = Array.from(document.querySelectorAll('*'))
  .filter((e) => Array.from(e.attributes).some((a) => a.name.startsWith('on'))).length;
return {
  title: document.title.trim(),
  h1: h1 ? h1.textContent.trim() : '',
  body: (document.body ? document.body.innerText : '').trim().slice(0, 200),
  styled: sheets.length,
  scripts: document.querySelectorAll('script').length,
  styles: document.querySelectorAll('style').length,
  style_attributes: document.querySelectorAll('[style]').length,
  handlers,
};
";

fn page_verdict(found: &Value) -> (Verdict, Option<String>) {
    let text = |key: &str| found[key].as_str().unwrap_or_default().to_owned();
    let count = |key: &str| found[key].as_u64().unwrap_or_default();
    let (title, h1) = (text("title"), text("h1"));
    let detail = Some(format!("title {title:?}, heading {h1:?}"));
    let mut problems = Vec::new();
    if title.is_empty() || h1.is_empty() {
        problems.push(format!(
            "no title or no heading: not the dashboard, or not authenticated (the page says {:?})",
            text("body")
        ));
    }
    if count("styled") == 0 {
        problems.push("its stylesheet did not apply (was /admin/admin.css refused?)".into());
    }
    for (key, what) in [
        ("scripts", "script elements"),
        ("styles", "style elements"),
        ("style_attributes", "style attributes"),
        ("handlers", "event handler attributes"),
    ] {
        if count(key) > 0 {
            problems.push(format!("{} {what}, which the CSP forbids", count(key)));
        }
    }
    let verdict = if problems.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail(problems.join("; "))
    };
    (verdict, detail)
}

/// The total of the counter labelled `label`, read twice: from its card
/// (the figure beside the heading that names it) and from the table of
/// numbers per day (the `Total` row, in the column that names it).
fn counter_script(label: &str) -> String {
    format!(
        r"
const label = {label};
const named = (e) => e.textContent.trim() === label;
const number = (e) => {{ const d = e ? e.textContent.replace(/[^0-9]/g, '') : ''; return d === '' ? null : Number(d); }};
let card = null;
const heading = Array.from(document.querySelectorAll('h2, h3, h4, h5, h6, dt')).find(named);
if (heading) {{
  const box = heading.closest('.card') || heading.parentElement;
  card = number(box && box.querySelector('.total .figure, .figure, .total'));
}}
let table = null;
for (const t of document.querySelectorAll('table')) {{
  const head = Array.from(t.querySelectorAll('thead th'));
  const column = head.findIndex(named);
  const total = t.querySelector('tfoot tr');
  if (column >= 0 && total) {{ table = number(total.children[column]); break; }}
}}
return {{ card, table }};
",
        label = super::page::js_string(label)
    )
}

fn counter_verdict(found: &Value) -> (Verdict, Option<String>, Option<u64>) {
    let (card, table) = (found["card"].as_u64(), found["table"].as_u64());
    let total = card.or(table);
    let detail = Some(format!(
        "{MESSAGES_SENT}: card {}, table {}",
        card.map_or("absent".into(), |n| n.to_string()),
        table.map_or("absent".into(), |n| n.to_string())
    ));
    let verdict = match (card, table) {
        (None, None) => Verdict::Fail(format!(
            "no {MESSAGES_SENT:?} counter found, on a card or in the table"
        )),
        (Some(c), Some(t)) if c != t => Verdict::Fail(format!(
            "{MESSAGES_SENT}: the card says {c} and the table {t}"
        )),
        _ if total == Some(0) => Verdict::Fail(format!(
            "{MESSAGES_SENT} shows 0 after a conversation that sent messages (are today's unwritten increments left out?)"
        )),
        _ => Verdict::Pass,
    };
    (verdict, detail, total)
}

/// The SVG charts the page draws, and in the chart of the counter
/// labelled `label` the bars (`.bar`) with a height.
fn charts_script(label: &str) -> String {
    format!(
        r"
const label = {label};
const shown = (e) => {{ const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; }};
const charts = Array.from(document.querySelectorAll('main svg')).filter(shown);
const heading = Array.from(document.querySelectorAll('h2, h3, h4, h5, h6, dt'))
  .find((e) => e.textContent.trim() === label);
const box = heading ? (heading.closest('.card') || heading.parentElement) : null;
const chart = box ? box.querySelector('svg') : null;
const bars = chart
  ? Array.from(chart.querySelectorAll('.bar')).filter((b) => Number(b.getAttribute('height')) > 0).length
  : null;
return {{ charts: charts.length, bars }};
",
        label = super::page::js_string(label)
    )
}

fn charts_verdict(found: &Value) -> (Verdict, Option<String>) {
    let charts = found["charts"].as_u64().unwrap_or_default();
    let bars = found["bars"].as_u64();
    let detail = Some(format!(
        "{charts} SVG charts; bars drawn in the {MESSAGES_SENT} chart: {}",
        bars.map_or("no chart".into(), |n| n.to_string())
    ));
    let verdict = if charts == 0 {
        Verdict::Fail("no SVG chart is drawn".into())
    } else {
        match bars {
            None => Verdict::Fail(format!("the {MESSAGES_SENT} card has no SVG chart")),
            Some(0) => Verdict::Fail(format!(
                "the {MESSAGES_SENT} chart draws no bar for the conversation's messages"
            )),
            Some(_) => Verdict::Pass,
        }
    };
    (verdict, detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn credentials_are_percent_encoded_in_the_address() {
        let credentials = Credentials {
            user: "admin".into(),
            password: "a:b@c/d e%".into(),
        };
        let addr: SocketAddr = "127.0.0.1:8080".parse().expect("address");
        assert_eq!(
            address(addr, &credentials),
            "http://admin:a%3Ab%40c%2Fd%20e%25@127.0.0.1:8080/admin"
        );
        assert!(!format!("{credentials:?}").contains("a:b"));
    }

    #[test]
    fn the_counter_must_be_found_agree_and_count() {
        let verdict = |v: Value| counter_verdict(&v).0;
        assert_eq!(verdict(json!({ "card": 5, "table": 5 })), Verdict::Pass);
        assert_eq!(verdict(json!({ "card": null, "table": 3 })), Verdict::Pass);
        assert!(matches!(
            verdict(json!({ "card": 0, "table": 0 })),
            Verdict::Fail(_)
        ));
        assert!(matches!(
            verdict(json!({ "card": 4, "table": 5 })),
            Verdict::Fail(_)
        ));
        assert!(matches!(
            verdict(json!({ "card": null, "table": null })),
            Verdict::Fail(_)
        ));
    }

    #[test]
    fn an_unauthenticated_or_inline_styled_page_fails() {
        let page = |v: Value| page_verdict(&v).0;
        let good = json!({ "title": "t", "h1": "h", "styled": 1, "scripts": 0, "styles": 0, "style_attributes": 0, "handlers": 0 });
        assert_eq!(page(good.clone()), Verdict::Pass);
        let mut refused = good.clone();
        refused["title"] = json!("");
        refused["h1"] = json!("");
        assert!(matches!(page(refused), Verdict::Fail(_)));
        let mut inline = good;
        inline["style_attributes"] = json!(2);
        assert!(matches!(page(inline), Verdict::Fail(e) if e.contains("style attributes")));
    }
}
