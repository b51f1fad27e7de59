//! The ordinary slips of two people who have never used the client
//! (spec §12.5), each driven through the real screens as its own check:
//! a mistyped PIN when joining, a joiner locked out of its slot and let
//! back in with a re-opened code, an app switch on the code screen and on
//! a form, a returning user's wrong PIN, national numbers of several
//! countries, a connection lost while writing, a lock by someone guessing,
//! Arabic text, a message of emoji at the limit, a deletion, the room's
//! lifetime, who ended it. The checks name the requirements they exercise;
//! each screen they reach is also looked at (axe-core, width, screenshot).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;
use stelgano_spec::derive::{PartyHashes, Phone, Pin};
use stelgano_spec::wire::{ClientEvent, JoinRoom, ServerFrame};

use super::conversation::{create_channel, expect_message, join_with_code, letters, login, send};
use super::hygiene;
use super::look::Recorder;
use super::page::{Page, js_string};
use super::proxy::RecordingProxy;
use super::{Outcome, outcome_check as result};
use crate::client::{Connection, Incoming};
use crate::report::CheckResult;

/// Where the slips are played: three browsers (two parties and a party's
/// second device), the client's address through the suite's proxy, the
/// server's own address for a second proxy whose network can be cut, and
/// its WebSocket URL for a guesser that is not a browser.
pub struct Stage<'a> {
    pub a: Page<'a>,
    pub b: Page<'a>,
    pub c: Page<'a>,
    pub base: String,
    pub upstream: SocketAddr,
    pub ws_url: String,
}

/// Every requirement the slip checks name (for `coverage`).
pub const REQUIREMENTS: [&str; 22] = [
    "STD1-CLI-2",
    "STD1-CLI-10",
    "STD1-CLI-12",
    "STD1-CLI-14",
    "STD1-CLI-15",
    "STD1-CLI-17",
    "STD1-CLI-18",
    "STD1-CLI-21",
    "STD1-CLI-25",
    "STD1-CLI-26",
    "STD1-CLI-27",
    "STD1-CLI-28",
    "STD1-CLI-29",
    "STD1-CLI-30",
    "STD1-CLI-31",
    "STD1-CLI-34",
    "STD1-CLI-35",
    "STD1-CLI-36",
    "STD1-JOIN-24",
    "STD1-JOIN-25",
    "STD1-JOIN-26",
    "STD1-LIFE-11",
];

/// Plays every slip; `timings` gains the in-place opening times measured.
pub async fn run(
    s: &Stage<'_>,
    rec: &mut Recorder,
    timings: &mut Vec<(String, Duration)>,
) -> Vec<CheckResult> {
    let mut out = Vec::new();
    macro_rules! check {
        ($name:expr, $reqs:expr, $call:expr) => {{
            let started = Instant::now();
            let outcome = $call.await;
            out.push(result($name, &$reqs, outcome, started.elapsed()));
        }};
    }
    check!(
        "slip-pin-confirmation",
        ["STD1-CLI-26", "STD1-CLI-12"],
        pin_confirmation(s, rec)
    );
    check!(
        "slip-returning-wrong-pin",
        ["STD1-CLI-15"],
        returning_wrong_pin(s, rec)
    );
    check!(
        "slip-reopen-after-typo",
        ["STD1-JOIN-24", "STD1-JOIN-25", "STD1-CLI-27", "STD1-CLI-36"],
        reopen_after_typo(s, rec)
    );
    check!(
        "slip-code-screen-app-switch",
        ["STD1-CLI-10", "STD1-CLI-14", "STD1-CLI-28"],
        code_screen_app_switch(s, rec)
    );
    check!(
        "slip-form-app-switch",
        ["STD1-CLI-28"],
        form_app_switch(s, rec)
    );
    check!(
        "slip-national-numbers",
        ["STD1-CLI-25", "STD1-CLI-2"],
        national_numbers(s)
    );
    check!("slip-typed-spacing", ["STD1-CLI-25"], typed_spacing(s));
    check!("slip-offline-draft", ["STD1-CLI-30"], offline_draft(s, rec));
    check!("number-share", ["STD1-CLI-29"], number_share(s, rec));
    check!(
        "opening-in-place",
        ["STD1-CLI-12"],
        opening_in_place(s, timings)
    );
    check!("lifetime-visible", ["STD1-CLI-21"], lifetime_visible(s));
    check!(
        "waiting-card-and-delete",
        ["STD1-CLI-18", "STD1-CLI-34"],
        waiting_and_delete(s, rec)
    );
    check!("emoji-at-the-limit", ["STD1-CLI-17"], emoji_limit(s));
    check!(
        "rtl-conversation",
        ["STD1-CLI-31", "STD1-CLI-32"],
        rtl_conversation(s, rec)
    );
    check!(
        "lock-notice",
        ["STD1-CLI-35", "STD1-JOIN-26"],
        lock_notice(s, rec)
    );
    check!("ended-by-whom", ["STD1-LIFE-11"], ended_by_whom(s));
    out
}

/// A fresh PIN no page would contain by chance.
fn pin(prefix: &str) -> Result<String, String> {
    Ok(format!("{prefix}-{}", letters(8)?))
}

/// A room made by `a` and joined by `b`, both left in the chat; the
/// number and the two PINs.
async fn paired(s: &Stage<'_>, b_base: &str) -> Result<(String, String, String), String> {
    let (pin_a, pin_b) = (pin("a")?, pin("b")?);
    s.a.open(&s.base).await?;
    let (number, code, _) = create_channel(&s.a, &pin_a).await?;
    s.a.click("new-continue").await?;
    s.a.wait_screen(&["chat"]).await?;
    join_with_code(&s.b, b_base, &number, &code, &pin_b).await?;
    s.a.wait_until(
        "the other person to join",
        "document.getElementById('chat-pairing').hidden",
    )
    .await?;
    Ok((number, pin_a, pin_b))
}

/// STD1-CLI-26: two different PIN entries are refused before anything is
/// sent, so the code is not spent and works once they agree.
async fn pin_confirmation(s: &Stage<'_>, rec: &mut Recorder) -> Outcome {
    let pin_a = pin("a")?;
    s.a.open(&s.base).await?;
    let (number, code, _) = create_channel(&s.a, &pin_a).await?;
    s.a.click("new-continue").await?;
    s.a.wait_screen(&["chat"]).await?;
    s.b.open(&s.base).await?;
    s.b.click("entry-pair").await?;
    s.b.wait_screen(&["pair"]).await?;
    s.b.fill("pair-number", &number).await?;
    s.b.fill("pair-code", &code).await?;
    s.b.fill("pair-pin", "9876").await?;
    s.b.fill("pair-pin-confirm", "9867").await?;
    s.b.click("pair-submit").await?;
    s.b.wait_key("pair-pin-confirm-error", "error.pins-differ")
        .await?;
    if s.b.screen().await? != "pair" {
        return Err("the join went ahead with two different PINs".into());
    }
    rec.look(&s.b, "pair-pins-differ").await;
    if !s.a.visible("chat-pairing").await? {
        return Err(
            "the creator was told of a pairing that the client should not have sent".into(),
        );
    }
    s.b.fill("pair-pin-confirm", "9876").await?;
    s.b.click("pair-submit").await?;
    s.b.wait_screen(&["chat"]).await?;
    s.a.wait_until(
        "the other person to join",
        "document.getElementById('chat-pairing').hidden",
    )
    .await?;
    Ok("two different PINs were refused under the second field, nothing was sent, and the same code then paired".into())
}

/// STD1-CLI-15: a returning user's wrong PIN keeps the number, empties
/// and focuses the PIN, words it neutrally, and offers the pairing code as
/// the secondary action, on the start screen.
async fn returning_wrong_pin(s: &Stage<'_>, rec: &mut Recorder) -> Outcome {
    let (number, pin_a, _) = paired(s, &s.base).await?;
    s.a.open(&s.base).await?;
    s.a.fill("entry-number", &number).await?;
    s.a.fill("entry-pin", &pin("wrong")?).await?;
    s.a.click("entry-submit").await?;
    s.a.wait_key("entry-pin-error", "entry.wrong-pin").await?;
    let state = s
        .a
        .js(
            "return [document.body.dataset.screen, document.activeElement.id, document.getElementById('entry-number').value.length > 0, document.getElementById('entry-pin').value, document.getElementById('entry-first-hint').dataset.t || '', document.getElementById('entry-pair').offsetParent !== null];",
            vec![],
        )
        .await?;
    let want = serde_json::json!([
        "entry",
        "entry-pin",
        true,
        "",
        "entry.wrong-pin-first",
        true
    ]);
    if state != want {
        return Err(format!(
            "after a wrong PIN [screen, focus, number kept, PIN, hint, pairing action] are {state}, not {want}"
        ));
    }
    rec.look(&s.a, "entry-wrong-pin").await;
    s.a.fill("entry-pin", &pin_a).await?;
    s.a.click("entry-submit").await?;
    s.a.wait_screen(&["chat"]).await?;
    Ok("stayed on the start screen with the number kept, the PIN emptied and focused, neutral words, the pairing code offered; the right PIN then opened the chat".into())
}

/// STD1-JOIN-24, -25, STD1-CLI-27, -36: Bob bound his slot to a PIN he
/// then did not use; Alice, typing her own PIN, re-opens his slot; Bob
/// claims it with the new code and his PIN and finds his message; his
/// other device, still on the old PIN, is told and does not rejoin.
async fn reopen_after_typo(s: &Stage<'_>, rec: &mut Recorder) -> Outcome {
    let (pin_a, typo, meant) = (pin("a")?, pin("typo")?, pin("meant")?);
    s.a.open(&s.base).await?;
    let (number, code, _) = create_channel(&s.a, &pin_a).await?;
    s.a.click("new-continue").await?;
    s.a.wait_screen(&["chat"]).await?;
    join_with_code(&s.b, &s.base, &number, &code, &typo).await?;
    let text = format!("sent before the slip {}", letters(6)?);
    send(&s.b, &text).await?;
    expect_message(&s.a, &text, "received").await?;
    // Bob's second device, on the PIN he typed.
    s.c.open(&s.base).await?;
    login(&s.c, &number, &typo).await?;
    // Bob comes back with the PIN he meant.
    s.b.open(&s.base).await?;
    s.b.fill("entry-number", &number).await?;
    s.b.fill("entry-pin", &meant).await?;
    s.b.click("entry-submit").await?;
    s.b.wait_key("entry-pin-error", "entry.wrong-pin").await?;
    // Alice re-opens his slot, with her own PIN (a wrong one first).
    s.a.js(
        "document.getElementById('chat-trouble').open = true;",
        vec![],
    )
    .await?;
    s.a.fill("chat-reopen-pin", "not-my-pin").await?;
    s.a.click("chat-reopen").await?;
    s.a.wait_key("chat-reopen-error", "chat.reopen-wrong")
        .await?;
    s.a.fill("chat-reopen-pin", &pin_a).await?;
    s.a.click("chat-reopen").await?;
    s.a.wait_screen(&["code"]).await?;
    if s.a.text_key("code-title").await? != "code.title-reopen" {
        return Err("the new code's screen does not say it replaces the other person's PIN".into());
    }
    rec.look(&s.a, "code-reopen").await;
    let new_code = s.a.text("new-pairing-code").await?;
    s.a.click("new-continue").await?;
    s.a.wait_screen(&["chat"]).await?;
    // Bob claims his slot again.
    s.b.click("entry-pair").await?;
    s.b.wait_screen(&["pair"]).await?;
    s.b.fill("pair-number", &number).await?;
    s.b.fill("pair-code", &new_code).await?;
    s.b.fill("pair-pin", &meant).await?;
    s.b.fill("pair-pin-confirm", &meant).await?;
    s.b.click("pair-submit").await?;
    s.b.wait_screen(&["chat"]).await?;
    expect_message(&s.b, &text, "sent").await?;
    // The device on the old PIN was closed with record_replaced.
    s.c.wait_screen(&["expired"]).await?;
    if !s
        .c
        .truth("document.body.dataset.ended === 'replaced'")
        .await?
    {
        return Err("the device on the replaced PIN does not say its PIN was replaced".into());
    }
    rec.look(&s.c, "expired-replaced").await;
    // The old PIN is refused from now on.
    s.c.open(&s.base).await?;
    s.c.fill("entry-number", &number).await?;
    s.c.fill("entry-pin", &typo).await?;
    s.c.click("entry-submit").await?;
    s.c.wait_key("entry-pin-error", "entry.wrong-pin").await?;
    Ok("Alice's wrong PIN was refused locally, her own made the code; Bob claimed his slot with a new PIN typed twice and found his message; his device on the old PIN was told and did not rejoin; the old PIN is refused".into())
}

/// STD1-CLI-10, -14, -28: switching apps on the code screen keeps the
/// code and defers the lock to leaving the screen, which says why.
async fn code_screen_app_switch(s: &Stage<'_>, rec: &mut Recorder) -> Outcome {
    let pin_a = pin("a")?;
    s.a.open(&s.base).await?;
    let (_, code, _) = create_channel(&s.a, &pin_a).await?;
    s.a.hide_and_return(&s.base).await?;
    if s.a.screen().await? != "code" || s.a.text("new-pairing-code").await? != code {
        return Err("the app switch took the pairing code away".into());
    }
    if s.a.text_key("code-deferred").await? != "code.deferred"
        || !s.a.visible("code-deferred").await?
    {
        return Err("the code screen does not say that the channel locks when it is left".into());
    }
    rec.look(&s.a, "code-after-app-switch").await;
    s.a.click("new-continue").await?;
    s.a.wait_screen(&["locked"]).await?;
    if s.a.text_key("lock-reason").await? != "locked.hidden" {
        return Err("the deferred lock does not say the page was hidden".into());
    }
    s.a.fill("lock-pin", &pin_a).await?;
    s.a.click("lock-submit").await?;
    s.a.wait_screen(&["chat"]).await?;
    Ok("the code stayed through an app switch; leaving the screen locked the channel with the reason; the PIN opened it".into())
}

/// STD1-CLI-28: a form with PINs but no session, hidden: the PINs are
/// emptied and it says so; the number and the name stay.
async fn form_app_switch(s: &Stage<'_>, rec: &mut Recorder) -> Outcome {
    s.a.open(&s.base).await?;
    s.a.click("entry-new").await?;
    s.a.wait_screen(&["new"]).await?;
    let number = s.a.prop("new-number", "value").await?;
    s.a.js("document.getElementById('new-card').open = true;", vec![])
        .await?;
    s.a.fill("new-contact-name", "Sam").await?;
    s.a.fill("new-pin", "2468").await?;
    s.a.fill("new-pin-confirm", "2468").await?;
    s.a.hide_and_return(&s.base).await?;
    let kept = s
        .a
        .js(
            "const v = (id) => document.getElementById(id).value; return [document.body.dataset.screen, v('new-number'), v('new-contact-name'), v('new-pin'), v('new-pin-confirm'), document.getElementById('new-cleared').dataset.t || '', !document.getElementById('new-cleared').hidden];",
            vec![],
        )
        .await?;
    let want = serde_json::json!(["new", number, "Sam", "", "", "new.cleared", true]);
    if kept != want {
        return Err(format!(
            "after an app switch the new-channel form holds {kept}, not {want}"
        ));
    }
    rec.look(&s.a, "new-after-app-switch").await;
    // The first join's form likewise.
    s.a.open(&s.base).await?;
    s.a.click("entry-pair").await?;
    s.a.fill("pair-number", "+44 7400 123456").await?;
    s.a.fill("pair-pin", "2468").await?;
    s.a.fill("pair-pin-confirm", "2468").await?;
    s.a.hide_and_return(&s.base).await?;
    let kept = s
        .a
        .js(
            "const v = (id) => document.getElementById(id).value; return [v('pair-number'), v('pair-pin'), v('pair-pin-confirm'), document.getElementById('pair-cleared').dataset.t || ''];",
            vec![],
        )
        .await?;
    let want = serde_json::json!(["+44 7400 123456", "", "", "pair.cleared"]);
    if kept != want {
        return Err(format!(
            "after an app switch the pairing form holds {kept}, not {want}"
        ));
    }
    Ok("both forms emptied their PIN fields, said so, and kept the number and the name".into())
}

/// National forms, typed with the country chosen (STD1-CLI-25): the
/// number the contact card would hold, `+` and the E.164 digits.
const NATIONAL: [(&str, &str, &str); 9] = [
    ("DE", "0151 23456789", "4915123456789"),
    ("FR", "06 12 34 56 78", "33612345678"),
    ("RU", "8 912 345-67-89", "79123456789"),
    ("HU", "06 20 123 4567", "36201234567"),
    ("US", "(201) 555-0123", "12015550123"),
    ("IT", "06 1234 5678", "390612345678"),
    ("AR", "011 15-2345-6789", "5491123456789"),
    // Two countries the first, hand-kept table did not have.
    ("LU", "628 123 456", "352628123456"),
    ("IS", "611 1234", "3546111234"),
];

/// STD1-CLI-25, STD1-CLI-2: every country, searchable; national forms
/// with different trunk prefixes (0, 8, 06, 1, none, 15) accepted.
async fn national_numbers(s: &Stage<'_>) -> Outcome {
    s.a.open(&s.base).await?;
    s.a.click("entry-new").await?;
    s.a.wait_screen(&["new"]).await?;
    let countries =
        s.a.js(
            "return document.getElementById('new-country').options.length;",
            vec![],
        )
        .await?;
    if countries.as_u64().is_none_or(|n| n < 240) {
        return Err(format!(
            "the country list has {countries} entries, not every territory"
        ));
    }
    s.a.fill("new-country-search", "luxem").await?;
    let first = s.a.prop("new-country", "value").await?;
    if first != "LU" {
        return Err(format!(
            "searching 'luxem' selected {first}, not Luxembourg"
        ));
    }
    let mut accepted = Vec::new();
    for (iso, national, e164) in NATIONAL {
        s.a.js(
            "const c = document.getElementById('new-country'); document.getElementById('new-country-search').value = ''; document.getElementById('new-country-search').dispatchEvent(new Event('input')); c.value = arguments[0]; c.dispatchEvent(new Event('change', { bubbles: true }));",
            vec![Value::from(iso)],
        )
        .await?;
        s.a.fill("new-number", national).await?;
        let card = format!("TEL;TYPE=CELL:+{e164}");
        s.a.wait_until(
            &format!("{iso} {national} accepted as +{e164}"),
            &format!(
                "(() => {{ const l = document.getElementById('new-vcard'); return !l.hidden && decodeURIComponent(l.getAttribute('href')).includes({}); }})()",
                js_string(&card)
            ),
        )
        .await?;
        let shown = s.a.prop("new-number", "value").await?;
        if shown != national {
            return Err(format!(
                "{iso}: the field shows {shown} after {national:?} was typed"
            ));
        }
        accepted.push(format!("{iso} {national} → +{e164}"));
    }
    Ok(format!("{countries} countries; {}", accepted.join("; ")))
}

/// STD1-CLI-25: digits typed at the end are spaced as the country writes
/// them; spacing typed by the user is kept as typed.
async fn typed_spacing(s: &Stage<'_>) -> Outcome {
    s.a.open(&s.base).await?;
    s.a.click("entry-new").await?;
    s.a.wait_screen(&["new"]).await?;
    s.a.js(
        "const c = document.getElementById('new-country'); c.value = 'DE'; c.dispatchEvent(new Event('change', { bubbles: true }));",
        vec![],
    )
    .await?;
    s.a.fill("new-number", "015123456789").await?;
    let spaced = s.a.prop("new-number", "value").await?;
    let digits: String = spaced
        .as_str()
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    if digits != "015123456789" || !spaced.as_str().unwrap_or_default().contains(' ') {
        return Err(format!("digits typed alone became {spaced}"));
    }
    s.a.fill("new-number", "0151-2345 6789").await?;
    let kept = s.a.prop("new-number", "value").await?;
    if kept != "0151-2345 6789" {
        return Err(format!("typed spacing became {kept}"));
    }
    Ok(format!(
        "015123456789 became {spaced}; 0151-2345 6789 stayed as typed"
    ))
}

/// STD1-CLI-30: with the network gone, the composer stays editable; a
/// message sent meanwhile goes out once the session is back, since it is
/// still the user's turn and the message it answers is still current.
async fn offline_draft(s: &Stage<'_>, rec: &mut Recorder) -> Outcome {
    let net = RecordingProxy::start(s.upstream)
        .await
        .map_err(|e| format!("a second proxy: {e}"))?;
    let b_base = format!("http://{}/", net.addr);
    paired(s, &b_base).await?;
    let question = format!("are you there {}", letters(6)?);
    send(&s.a, &question).await?;
    expect_message(&s.b, &question, "received").await?;
    net.sever();
    s.b.wait_until(
        "the connection loss shown",
        "!document.getElementById('chat-connection').hidden",
    )
    .await?;
    if !s
        .b
        .truth("!document.getElementById('chat-input').disabled")
        .await?
    {
        net.restore();
        return Err("the composer was disabled while offline".into());
    }
    let draft = format!("written offline {}", letters(6)?);
    s.b.fill("chat-input", &draft).await?;
    s.b.click("chat-send").await?;
    let queued = s.b.wait_key("chat-note", "chat.queued").await;
    rec.look(&s.b, "chat-offline").await;
    net.restore();
    queued?;
    expect_message(&s.a, &draft, "received").await?;
    expect_message(&s.b, &draft, "sent").await?;
    Ok("offline, the composer stayed editable and the message waited; it went out on reconnection and arrived".into())
}

/// STD1-CLI-29: the number, masked until shown, with copy (and the share
/// sheet where the platform has one) on the code screen and in the
/// waiting chat.
async fn number_share(s: &Stage<'_>, rec: &mut Recorder) -> Outcome {
    s.a.open(&s.base).await?;
    let (number, _, _) = create_channel(&s.a, &pin("a")?).await?;
    if !s
        .a
        .truth("document.getElementById('code-number').dataset.masked === 'true'")
        .await?
    {
        return Err("the number is not masked on the code screen".into());
    }
    s.a.click("code-number-show").await?;
    if !s
        .a
        .truth("document.getElementById('code-number').dataset.masked === 'false' && document.getElementById('code-number-show').getAttribute('aria-pressed') === 'true'")
        .await?
    {
        return Err("Show did not show the number".into());
    }
    let share_matches = s
        .a
        .truth("document.getElementById('code-number-share').hidden === (typeof navigator.share !== 'function')")
        .await?;
    if !share_matches {
        return Err("the share button is offered without a share sheet, or hidden with one".into());
    }
    s.a.click("code-number-copy").await?;
    s.a.wait_until(
        "the copy answered",
        "['share.copied-number', 'share.copy-failed'].includes(document.getElementById('code-number-status').dataset.t)",
    )
    .await?;
    rec.look(&s.a, "code-number-shown").await;
    let href = s.a.prop("code-number-vcard", "href").await?;
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    if !href
        .as_str()
        .is_some_and(|h| h.contains(&format!("%2B{digits}")))
    {
        return Err("the contact card does not hold the number".into());
    }
    s.a.click("new-continue").await?;
    s.a.wait_screen(&["chat"]).await?;
    if !s.a.visible("chat-pairing").await?
        || !s
            .a
            .truth("document.getElementById('chat-number').dataset.masked === 'true'")
            .await?
    {
        return Err("the waiting chat does not offer the masked number".into());
    }
    Ok("masked by default on the code screen and in the waiting chat; Show, Copy and the contact card work; Share follows the platform".into())
}

/// The in-place opening: the start screen goes straight to the chat, or
/// to the key screen only once the key has taken about 0.7 s.
async fn opening_in_place(s: &Stage<'_>, timings: &mut Vec<(String, Duration)>) -> Outcome {
    let (number, pin_a, _) = paired(s, &s.base).await?;
    s.a.open(&s.base).await?;
    s.a.fill("entry-number", &number).await?;
    s.a.fill("entry-pin", &pin_a).await?;
    s.a.js(
        "window.__screens = []; window.__t0 = performance.now(); new MutationObserver(() => window.__screens.push([document.body.dataset.screen, Math.round(performance.now() - window.__t0)])).observe(document.body, { attributes: true, attributeFilter: ['data-screen'] });",
        vec![],
    )
    .await?;
    let submitted = Instant::now();
    s.a.click("entry-submit").await?;
    s.a.wait_screen(&["chat"]).await?;
    let took = submitted.elapsed();
    timings.push(("login (in place)".into(), took));
    let seen = s.a.js("return window.__screens;", vec![]).await?;
    let screens: Vec<(String, u64)> =
        serde_json::from_value(seen.clone()).map_err(|e| e.to_string())?;
    let names: Vec<&str> = screens.iter().map(|(n, _)| n.as_str()).collect();
    match names.as_slice() {
        ["chat"] => {}
        ["deriving", "chat"] if screens[0].1 >= 650 => {}
        _ => {
            return Err(format!(
                "from the start screen the page went through {seen}"
            ));
        }
    }
    Ok(format!(
        "{} in {:.2} s",
        names.join(" → "),
        took.as_secs_f64()
    ))
}

/// STD1-CLI-21: the lifetime is said on creation and always shown in the
/// chat, in days, then hours and minutes emphasised under 48 hours.
async fn lifetime_visible(s: &Stage<'_>) -> Outcome {
    s.a.open(&s.base).await?;
    create_channel(&s.a, &pin("a")?).await?;
    if s.a.text_key("code-lifetime").await? != "lifetime.created" {
        return Err("creating did not say how long the channel lasts".into());
    }
    s.a.click("new-continue").await?;
    s.a.wait_screen(&["chat"]).await?;
    s.a.wait_until(
        "the lifetime in the chat",
        "document.getElementById('chat-lifetime').textContent.trim().length > 0",
    )
    .await?;
    let shown = s
        .a
        .js(
            "const b = document.getElementById('chat-lifetime'); return [b.dataset.t, Number(b.dataset.msLeft), b.classList.contains('urgent'), b.textContent];",
            vec![],
        )
        .await?;
    let key = shown[0].as_str().unwrap_or_default();
    let left = shown[1].as_f64().unwrap_or(-1.0);
    let urgent = shown[2] == Value::Bool(true);
    let under_48h = left < 48.0 * 3600.0 * 1000.0;
    let right_unit = match key {
        "lifetime.days" => !under_48h,
        "lifetime.hours" => under_48h && left >= 3600.0 * 1000.0,
        "lifetime.minutes" => left < 3600.0 * 1000.0,
        _ => false,
    };
    if left < 0.0 || !right_unit || urgent != under_48h {
        return Err(format!("the lifetime is shown as {shown}"));
    }
    Ok(format!(
        "{} ({} ms left, emphasised: {urgent})",
        shown[3], left
    ))
}

/// STD1-CLI-18, STD1-CLI-34: one's own unread message puts a waiting card
/// in the composer's place, with edit and delete; delete asks first, and
/// the empty room then says the message was deleted.
async fn waiting_and_delete(s: &Stage<'_>, rec: &mut Recorder) -> Outcome {
    paired(s, &s.base).await?;
    s.b.click("chat-lock").await?;
    s.b.wait_screen(&["locked"]).await?;
    let text = format!("to be deleted {}", letters(6)?);
    send(&s.a, &text).await?;
    expect_message(&s.a, &text, "sent").await?;
    if s.a.visible("chat-form").await?
        || !s.a.visible("chat-waiting").await?
        || !s.a.visible("chat-edit").await?
    {
        return Err("no waiting card with edit in the composer's place".into());
    }
    s.a.click("chat-delete").await?;
    if !s.a.visible("chat-delete-panel").await? {
        return Err("Delete did not ask first".into());
    }
    rec.look(&s.a, "chat-delete-confirm").await;
    s.a.click("chat-delete-cancel").await?;
    expect_message(&s.a, &text, "sent").await?;
    s.a.click("chat-delete").await?;
    s.a.click("chat-delete-confirm").await?;
    s.a.wait_key("chat-empty", "chat.deleted-own").await?;
    Ok("waiting card with edit and delete; delete asked, Keep kept it, confirming deleted it and the room said so".into())
}

/// STD1-CLI-17: a message of 2,044 four-byte emoji (8,176 bytes, the
/// limit) is taken and arrives whole; one more is refused.
async fn emoji_limit(s: &Stage<'_>) -> Outcome {
    paired(s, &s.base).await?;
    s.b.js(
        "const e = document.getElementById('chat-input'); e.value = '\\u{1F600}'.repeat(2044); e.dispatchEvent(new Event('input', { bubbles: true }));",
        vec![],
    )
    .await?;
    s.b.js(
        "const e = document.getElementById('chat-input'); e.value += '\\u{1F600}'; e.dispatchEvent(new Event('input', { bubbles: true }));",
        vec![],
    )
    .await?;
    let held =
        s.b.js(
            "return [...document.getElementById('chat-input').value].length;",
            vec![],
        )
        .await?;
    if held != 2044 {
        return Err(format!(
            "the composer holds {held} emoji, not the 2,044 that fit"
        ));
    }
    s.b.wait_key("chat-error", "chat.full").await?;
    s.b.click("chat-send").await?;
    s.a.wait_until(
        "the emoji message",
        "(() => { const m = document.getElementById('chat-message'); return m && m.dataset.side === 'received' && [...m.textContent].length === 2044; })()",
    )
    .await?;
    Ok("2,044 emoji (8,176 bytes) were taken and arrived whole; the 2,045th was refused with a message".into())
}

/// STD1-CLI-31, STD1-CLI-32: the page switched to Arabic in place, mirrored;
/// an Arabic message right to left on both sides, whatever the page's language.
async fn rtl_conversation(s: &Stage<'_>, rec: &mut Recorder) -> Outcome {
    paired(s, &s.base).await?;
    s.a.js("window.__stayed = true;", vec![]).await?;
    s.a.set_language("ar").await?;
    if !s
        .a
        .truth("window.__stayed === true && document.documentElement.dir === 'rtl' && document.documentElement.lang === 'ar'")
        .await?
    {
        return Err("switching to Arabic reloaded the page or did not mirror it".into());
    }
    let text = "مرحبا، هل وصلت رسالتي؟ نلتقي غدا";
    send(&s.a, text).await?;
    expect_message(&s.a, text, "sent").await?;
    expect_message(&s.b, text, "received").await?;
    let directions =
        s.b.js(
            "return getComputedStyle(document.getElementById('chat-message')).direction;",
            vec![],
        )
        .await?;
    if directions != "rtl" {
        return Err(format!(
            "the Arabic message is laid out {directions} in the English page"
        ));
    }
    // In the mirrored page one's own message sits on the left.
    let left = s
        .a
        .truth("(() => { const r = document.getElementById('chat-bubble').getBoundingClientRect(); return r.left < innerWidth - r.right; })()")
        .await?;
    if !left {
        return Err("the Arabic page is not mirrored: the sent message is on the right".into());
    }
    if let Some(problem) = hygiene::page_state(s.a.client).await.first() {
        return Err(format!("after the language switch: {problem}"));
    }
    rec.look(&s.a, "chat-arabic").await;
    s.b.fill("chat-input", "شكرا جزيلا").await?;
    let composer =
        s.b.js(
            "return getComputedStyle(document.getElementById('chat-input')).direction;",
            vec![],
        )
        .await?;
    if composer != "rtl" {
        return Err(format!("Arabic in the composer is laid out {composer}"));
    }
    rec.look(&s.b, "chat-received-arabic").await;
    s.a.set_language("en").await?;
    Ok("Arabic without a reload, mirrored, nothing stored; Arabic text right to left in the message and the composer of an English page".into())
}

/// STD1-JOIN-26, STD1-CLI-35: someone who knows the number guesses PINs
/// until the room locks; both parties' pages say so.
async fn lock_notice(s: &Stage<'_>, rec: &mut Recorder) -> Outcome {
    let (number, _, _) = paired(s, &s.base).await?;
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let phone = Phone::parse(&digits).map_err(|e| format!("{digits}: {e}"))?;
    let mut answers = Vec::new();
    for _ in 0..12 {
        let guess = PartyHashes::derive(
            &phone,
            &Pin::parse(&pin("guess")?).map_err(|e| e.to_string())?,
        );
        let mut conn = Connection::open(&s.ws_url, "guesser")
            .await
            .map_err(|e| e.to_string())?;
        conn.send(ClientEvent::Join(JoinRoom {
            room_hash: guess.room_hash,
            access_hash: guess.access_hash,
            sender_hash: guess.sender_hash,
            pairing_hash: None,
        }))
        .await
        .map_err(|e| e.to_string())?;
        let reason = match conn.next(Duration::from_secs(30)).await {
            Ok(Incoming::Frame(ServerFrame::Error(e))) => e.error.reason.as_str().to_owned(),
            other => format!("{other:?}"),
        };
        conn.close().await;
        let locked = reason == "locked";
        answers.push(reason);
        if locked {
            break;
        }
    }
    if answers.last().map(String::as_str) != Some("locked") {
        return Err(format!("the guesses never locked the room: {answers:?}"));
    }
    for page in [&s.a, &s.b] {
        page.wait_until(
            "the lock notice",
            "!document.getElementById('chat-locked-notice').hidden && document.getElementById('chat-locked-text').dataset.t === 'chat.locked-notice'",
        )
        .await?;
    }
    rec.look(&s.a, "chat-lock-notice").await;
    s.a.click("chat-locked-dismiss").await?;
    if s.a.visible("chat-locked-notice").await? {
        return Err("the lock notice could not be dismissed".into());
    }
    Ok(format!(
        "{} wrong PINs locked the room; both parties were told, with the time",
        answers.len()
    ))
}

/// STD1-LIFE-11: the expired screen says who ended the room.
async fn ended_by_whom(s: &Stage<'_>) -> Outcome {
    paired(s, &s.base).await?;
    s.b.click("chat-expire").await?;
    s.b.click("chat-expire-confirm").await?;
    s.a.wait_screen(&["expired"]).await?;
    s.b.wait_screen(&["expired"]).await?;
    let a = s.a.text_key("expired-text").await?;
    let b = s.b.text_key("expired-text").await?;
    if a != "expired.by-party" || b != "expired.by-you" {
        return Err(format!(
            "the ended screens say {a} (the other person) and {b} (the one who ended it)"
        ));
    }
    Ok("the other person's page says the other person ended it; the ender's says they did".into())
}
