//! Two browsers, two parties, one whole conversation through the client's
//! screens: create, pair, send, read receipt, reply, lock, edit and delete
//! while the other is locked, a wrong PIN and an unlock, the panic route
//! and a returning login, and the end of the room. On the way every screen
//! is checked with axe-core and photographed.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::page::{Page, js_string};
use super::{axe, hygiene};

/// What the run typed, so that the blindness check can look for it.
#[derive(Debug, Default, Clone)]
pub struct Secrets {
    /// The steg number as the client displayed it.
    pub number: String,
    pub pins: Vec<String>,
    pub pairing_code: String,
    pub plaintexts: Vec<String>,
}

/// How the conversation went.
#[derive(Debug, Default)]
pub struct Conversation {
    /// The steps completed, in order.
    pub steps: Vec<String>,
    /// The step that failed, and why.
    pub failure: Option<String>,
    /// axe-core's findings per screen.
    pub axe: Vec<(String, Result<Vec<String>, String>)>,
    pub secrets: Secrets,
    /// Submit to chat screen, PBKDF2 included.
    pub timings: Vec<(String, Duration)>,
    /// Screenshots written.
    pub screenshots: Vec<PathBuf>,
    /// What the hygiene checks found, each with where.
    pub hygiene: Vec<String>,
}

/// Where screenshots go, and axe-core's source.
pub struct Options {
    pub screenshots: Option<PathBuf>,
    pub axe_source: Option<String>,
}

/// True when a screen's error element shows text.
const ERROR_SHOWN: &str = "['entry-error', 'pair-error', 'new-error', 'lock-error']\
    .some((id) => { const e = document.getElementById(id); return e && e.offsetParent !== null && e.textContent.trim().length > 0; })";

/// Random lowercase letters: PINs and texts no page or protocol field
/// would contain by chance.
fn letters(n: usize) -> Result<String, String> {
    let mut bytes = vec![0_u8; n];
    getrandom::fill(&mut bytes).map_err(|e| e.to_string())?;
    Ok(bytes.iter().map(|b| char::from(b'a' + b % 26)).collect())
}

/// Plays the conversation with Alice in `a` and Bob in `b`, both on the
/// client at `base` (`http://host:port/`).
pub async fn run(a: Page<'_>, b: Page<'_>, base: &str, options: &Options) -> Conversation {
    let mut c = Conversation::default();
    if let Err(e) = play(&a, &b, base, options, &mut c).await {
        c.failure = Some(e);
    }
    c
}

async fn look(page: &Page<'_>, screen: &str, options: &Options, c: &mut Conversation) {
    if let Some(source) = &options.axe_source {
        let found = axe::violations(page.client, source).await;
        c.axe.push((screen.to_owned(), found));
    }
    if let Some(dir) = &options.screenshots
        && let Ok(png) = page.screenshot().await
    {
        let path = dir.join(format!("{:02}-{screen}.png", c.screenshots.len() + 1));
        if std::fs::create_dir_all(dir).is_ok() && std::fs::write(&path, png).is_ok() {
            c.screenshots.push(path);
        }
    }
}

fn done(c: &mut Conversation, step: &str) {
    c.steps.push(step.to_owned());
}

/// Looks at a fresh entry screen (STD1-SEC-3).
async fn entry_check(page: &Page<'_>, when: &str, c: &mut Conversation) {
    for problem in hygiene::entry_screen(page.client).await {
        c.hygiene.push(format!("{} {when}: {problem}", page.name));
    }
}

/// Looks at what the page keeps (STD1-CLI-4, STD1-CLI-5, STD1-CLI-8).
async fn inspect(page: &Page<'_>, when: &str, c: &mut Conversation) {
    for problem in hygiene::page_state(page.client).await {
        c.hygiene.push(format!("{} {when}: {problem}", page.name));
    }
}

async fn play(
    a: &Page<'_>,
    b: &Page<'_>,
    base: &str,
    options: &Options,
    c: &mut Conversation,
) -> Result<(), String> {
    let pin_a = format!("a-{}", letters(8)?);
    let pin_b = format!("b-{}", letters(8)?);
    let texts = [
        format!("the kettle is {}", letters(10)?),
        format!("see you at {}", letters(10)?),
        format!("draft {}", letters(10)?),
        format!("draft edited {}", letters(10)?),
        format!("last word {}", letters(10)?),
    ];
    c.secrets.pins = vec![pin_a.clone(), pin_b.clone()];
    c.secrets.plaintexts = texts.to_vec();

    // Alice makes a new channel (STD1-CLI-12, STD1-CLI-13, STD1-CLI-14).
    a.client.goto(base).await.map_err(|e| e.to_string())?;
    a.wait_screen(&["entry"]).await?;
    look(a, "entry", options, c).await;
    for problem in hygiene::field_attributes(a.client).await {
        c.hygiene.push(format!("fields: {problem}"));
    }
    entry_check(a, "on a fresh load", c).await;
    a.click("entry-new").await?;
    a.wait_screen(&["new"]).await?;
    a.click("new-generate").await?;
    a.wait_until(
        "a generated number",
        "document.getElementById('new-number').value.length > 6",
    )
    .await?;
    look(a, "new-channel", options, c).await;
    let number = a.prop("new-number", "value").await?;
    c.secrets.number = number.as_str().unwrap_or_default().to_owned();
    a.fill("new-pin", &pin_a).await?;
    a.fill("new-pin-confirm", &pin_a).await?;
    let submitted = Instant::now();
    a.click("new-create").await?;
    a.wait_until(
        "the pairing code",
        "(document.getElementById('new-pairing-code') || {}).textContent?.trim().length >= 8",
    )
    .await?;
    c.timings.push(("create".into(), submitted.elapsed()));
    c.secrets.pairing_code = a.text("new-pairing-code").await?;
    look(a, "pairing-code", options, c).await;
    a.click("new-continue").await?;
    a.wait_screen(&["chat"]).await?;
    look(a, "chat-awaiting", options, c).await;
    done(c, "Alice created a channel and was shown its pairing code");

    // A number too short for any plan is refused with a message, before
    // anything is sent (STD1-CLI-2).
    b.client.goto(base).await.map_err(|e| e.to_string())?;
    b.wait_screen(&["entry"]).await?;
    b.fill("entry-number", "+1 555").await?;
    b.fill("entry-pin", &pin_b).await?;
    b.click("entry-submit").await?;
    b.wait_until("the invalid number refused", ERROR_SHOWN)
        .await?;
    if b.screen().await? != "entry" {
        return Err("an invalid number left the entry screen".into());
    }
    look(b, "entry-invalid-number", options, c).await;
    done(c, "an invalid number was refused with a message");

    // Joining with the creator's PIN and the code matches the creator's
    // record: the client must stop and ask for another PIN (STD1-CLI-16).
    b.fill("entry-number", &c.secrets.number).await?;
    b.fill("entry-pin", &pin_a).await?;
    b.click("entry-pair").await?;
    b.wait_screen(&["pair"]).await?;
    b.fill("pair-code", &c.secrets.pairing_code).await?;
    b.click("pair-submit").await?;
    b.wait_until("a request for another PIN", ERROR_SHOWN)
        .await?;
    if b.screen().await? == "chat" {
        return Err("joining with the creator's PIN reached the chat".into());
    }
    done(
        c,
        "joining with the creator's PIN was stopped with a request for another PIN",
    );

    // Bob joins with the number, his PIN and the code (STD1-CLI-15).
    b.client.goto(base).await.map_err(|e| e.to_string())?;
    b.wait_screen(&["entry"]).await?;
    b.fill("entry-number", &c.secrets.number).await?;
    b.fill("entry-pin", &pin_b).await?;
    let submitted = Instant::now();
    b.click("entry-submit").await?;
    if b.wait_screen(&["pair", "chat"]).await? == "pair" {
        look(b, "pair", options, c).await;
        b.fill("pair-code", &c.secrets.pairing_code).await?;
        b.click("pair-submit").await?;
        b.wait_screen(&["chat"]).await?;
    }
    c.timings.push(("pair".into(), submitted.elapsed()));
    done(c, "Bob joined with the pairing code");

    // Alice sends; Bob reads; Alice sees it read (STD1-MSG-2, STD1-CLI-19).
    send(a, &texts[0]).await?;
    expect_message(a, &texts[0], "sent").await?;
    expect_message(b, &texts[0], "received").await?;
    look(b, "chat-received", options, c).await;
    a.wait_until(
        "the read receipt",
        "document.getElementById('chat-message')?.dataset.read === 'true'",
    )
    .await?;
    done(c, "Bob received Alice's message and it was marked read");
    inspect(a, "in the chat", c).await;
    inspect(b, "in the chat", c).await;

    // Turn-taking: Alice may not send again (STD1-CLI-18).
    if a.prop("chat-send", "disabled").await? != serde_json::Value::Bool(true)
        || !a.visible("chat-turn").await?
    {
        return Err("Alice could send twice in a row, or no reason was shown".into());
    }
    look(a, "chat-wait-turn", options, c).await;
    done(
        c,
        "Alice's send was disabled with a reason while her message was current",
    );

    // A paste of 2,800 euro signs (8,400 UTF-8 bytes) is over what may
    // be encrypted: refused with a message, and not sent (STD1-CLI-17;
    // the traffic check confirms no ciphertext that long left the page).
    b.client
        .execute(
            "const e = document.getElementById('chat-input'); e.value = '\\u20ac'.repeat(2800); e.dispatchEvent(new Event('input', { bubbles: true }));",
            vec![],
        )
        .await
        .map_err(|e| e.to_string())?;
    b.click("chat-send").await?;
    b.wait_until(
        "the overlong message refused",
        "(document.getElementById('chat-error') || {}).textContent?.trim().length > 0",
    )
    .await?;
    expect_message(b, &texts[0], "received").await?;
    done(c, "Bob's overlong message was refused with a message");

    send(b, &texts[1]).await?;
    expect_message(a, &texts[1], "received").await?;
    done(c, "Bob replied");

    // Bob locks (STD1-CLI-9); Alice writes, edits and deletes meanwhile.
    b.click("chat-lock").await?;
    b.wait_screen(&["locked"]).await?;
    inspect(b, "when locked", c).await;
    look(b, "locked", options, c).await;
    let locked_text = b.visible_text().await?;
    for secret in [&c.secrets.number, &texts[0], &texts[1]] {
        if locked_text.contains(secret.as_str()) {
            return Err("the lock screen shows the number or a message".into());
        }
    }
    send(a, &texts[2]).await?;
    expect_message(a, &texts[2], "sent").await?;
    a.click("chat-edit").await?;
    a.fill("chat-input", &texts[3]).await?;
    a.click("chat-send").await?;
    a.wait_until(
        "the edited message",
        &format!(
            "(() => {{ const m = document.getElementById('chat-message'); return m && m.dataset.edited === 'true' && m.textContent.includes({}); }})()",
            js_string(&texts[3])
        ),
    )
    .await?;
    done(c, "Alice edited her unread message while Bob was locked");
    a.click("chat-delete").await?;
    a.wait_until(
        "the message gone",
        "(() => { const m = document.getElementById('chat-message'); return !m || m.hidden || m.offsetParent === null; })()",
    )
    .await?;
    done(c, "Alice deleted it");
    send(a, &texts[4]).await?;
    expect_message(a, &texts[4], "sent").await?;

    // Bob: a wrong PIN, then his own (STD1-CLI-11).
    b.fill("lock-pin", &format!("x-{}", letters(8)?)).await?;
    b.click("lock-submit").await?;
    b.wait_until(
        "the wrong PIN refused",
        "(document.getElementById('lock-error') || {}).textContent?.trim().length > 0",
    )
    .await?;
    look(b, "locked-wrong-pin", options, c).await;
    b.fill("lock-pin", &pin_b).await?;
    let submitted = Instant::now();
    b.click("lock-submit").await?;
    b.wait_screen(&["chat"]).await?;
    c.timings.push(("unlock".into(), submitted.elapsed()));
    expect_message(b, &texts[4], "received").await?;
    done(
        c,
        "Bob was refused a wrong PIN, unlocked with his own and found Alice's last message",
    );

    // The panic route leaves only the entry screen at `/` (STD1-SRV-13,
    // STD1-CLI-5, STD1-CLI-6); Alice comes back with her number and PIN.
    a.client
        .goto(&format!("{base}x"))
        .await
        .map_err(|e| e.to_string())?;
    a.wait_screen(&["entry"]).await?;
    entry_check(a, "after the panic route", c).await;
    let url = a.client.current_url().await.map_err(|e| e.to_string())?;
    if url.path() != "/" || url.query().is_some() {
        return Err(format!("after the panic route the address is {url}"));
    }
    done(c, "the panic route left the entry screen at /");
    a.fill("entry-number", &c.secrets.number).await?;
    a.fill("entry-pin", &pin_a).await?;
    let submitted = Instant::now();
    a.click("entry-submit").await?;
    a.wait_screen(&["chat"]).await?;
    c.timings.push(("login".into(), submitted.elapsed()));
    expect_message(a, &texts[4], "sent").await?;
    done(c, "Alice logged in again and found her message");

    // Another tab in front hides the page, which locks it (STD1-CLI-10);
    // Alice comes back and unlocks.
    hide_and_return(a, base).await?;
    a.wait_screen(&["locked"]).await?;
    a.fill("lock-pin", &pin_a).await?;
    a.click("lock-submit").await?;
    a.wait_screen(&["chat"]).await?;
    done(c, "hiding Alice's page locked it, and she unlocked it");

    // Bob ends the room; both see it end, with nothing left (STD1-LIFE-2,
    // STD1-LIFE-9).
    b.click("chat-expire").await?;
    b.click("chat-expire-confirm").await?;
    for page in [a, b] {
        page.wait_screen(&["expired"]).await?;
        let body = page.text_of_body().await?;
        if texts.iter().any(|t| body.contains(t.as_str())) {
            return Err(format!(
                "{}: a message is still in the page after expiry",
                page.name
            ));
        }
    }
    look(a, "expired", options, c).await;
    inspect(a, "after the end", c).await;
    inspect(b, "after the end", c).await;
    done(
        c,
        "Bob ended the room; both pages show it ended, with no message left",
    );

    // By keyboard alone (STD1-CLI-24): Tab to the number, type, Tab to the
    // PIN, type, Enter. The room is gone, so the answer is a message and
    // no new room (STD1-CLI-12).
    b.click("expired-home").await?;
    b.wait_screen(&["entry"]).await?;
    keyboard_login(b, &c.secrets.number, &pin_b).await?;
    b.wait_until(
        "the not-found message",
        "(document.getElementById('entry-error') || {}).textContent?.trim().length > 0",
    )
    .await?;
    if b.screen().await? != "entry" {
        return Err("a join of an ended room left the entry screen".into());
    }
    done(
        c,
        "by keyboard alone, Bob's login to the ended room was answered with a message, and no room was made",
    );
    Ok(())
}

async fn send(page: &Page<'_>, text: &str) -> Result<(), String> {
    page.fill("chat-input", text).await?;
    page.click("chat-send").await
}

/// Waits until the page's current message is `text` on `side`.
async fn expect_message(page: &Page<'_>, text: &str, side: &str) -> Result<(), String> {
    page.wait_until(
        &format!("the {side} message {text:?}"),
        &format!(
            "(() => {{ const m = document.getElementById('chat-message'); return m && !m.hidden && m.dataset.side === {} && m.textContent.includes({}); }})()",
            js_string(side),
            js_string(text)
        ),
    )
    .await
}

impl Page<'_> {
    /// The text the page shows.
    async fn visible_text(&self) -> Result<String, String> {
        let v = self
            .client
            .execute("return document.body.innerText;", vec![])
            .await
            .map_err(|e| format!("{}: {e}", self.name))?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// All text of the page, hidden elements included.
    async fn text_of_body(&self) -> Result<String, String> {
        let v = self
            .client
            .execute(
                "return document.body.textContent + ' ' + document.body.innerHTML;",
                vec![],
            )
            .await
            .map_err(|e| format!("{}: {e}", self.name))?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }
}

/// Fills and submits the entry form with the keyboard only: Tab from the
/// top of the page until the number field has focus, then type, Tab, type,
/// Enter.
async fn keyboard_login(page: &Page<'_>, number: &str, pin: &str) -> Result<(), String> {
    const TAB: &str = "\u{e004}";
    const ENTER: &str = "\u{e007}";
    let body = page
        .client
        .find(fantoccini::Locator::Css("body"))
        .await
        .map_err(|e| e.to_string())?;
    let mut tabs = 0;
    while page.focused().await? != "entry-number" {
        if tabs == 15 {
            return Err(format!(
                "{}: fifteen Tabs never reached the number field",
                page.name
            ));
        }
        body.send_keys(TAB).await.map_err(|e| e.to_string())?;
        tabs += 1;
    }
    page.type_focused(number).await?;
    page.type_focused(TAB).await?;
    if page.focused().await? != "entry-pin" {
        return Err(format!(
            "{}: Tab from the number did not reach the PIN",
            page.name
        ));
    }
    page.type_focused(pin).await?;
    page.type_focused(ENTER).await
}

/// Opens a tab in front of the page, loads the client there (which takes
/// the old page's `visibilitychange` to hidden time to be handled), then
/// closes it and returns.
async fn hide_and_return(page: &Page<'_>, base: &str) -> Result<(), String> {
    let err = |e: fantoccini::error::CmdError| format!("{}: {e}", page.name);
    let original = page.client.window().await.map_err(err)?;
    let tab = page.client.new_window(true).await.map_err(err)?;
    page.client
        .switch_to_window(tab.handle)
        .await
        .map_err(err)?;
    page.client.goto(base).await.map_err(err)?;
    page.wait_screen(&["entry"]).await?;
    page.client.close_window().await.map_err(err)?;
    page.client.switch_to_window(original).await.map_err(err)
}
