//! Two browsers, two parties, one whole conversation through the client's
//! screens: create, pair, send, read receipt, reply, lock, edit and delete
//! while the other is locked, a wrong PIN and an unlock, the panic route
//! and a returning login, and the end of the room. On the way every screen
//! is checked with axe-core and photographed.

use std::time::{Duration, Instant};

use super::hygiene;
use super::look::Recorder;
use super::page::{Page, js_string};

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
    pub secrets: Secrets,
    /// Submit to chat screen, PBKDF2 included.
    pub timings: Vec<(String, Duration)>,
    /// What the hygiene checks found, each with where.
    pub hygiene: Vec<String>,
}

/// True when an error element of the screen shows text.
pub const ERROR_SHOWN: &str = "[...document.querySelectorAll('.error')]\
    .some((e) => e.offsetParent !== null && e.textContent.trim().length > 0)";

/// Random lowercase letters: PINs and texts no page or protocol field
/// would contain by chance.
pub fn letters(n: usize) -> Result<String, String> {
    let mut bytes = vec![0_u8; n];
    getrandom::fill(&mut bytes).map_err(|e| e.to_string())?;
    Ok(bytes.iter().map(|b| char::from(b'a' + b % 26)).collect())
}

/// Plays the conversation with Alice in `a` and Bob in `b`, both on the
/// client at `base` (`http://host:port/`).
pub async fn run(a: Page<'_>, b: Page<'_>, base: &str, rec: &mut Recorder) -> Conversation {
    let mut c = Conversation::default();
    if let Err(e) = play(&a, &b, base, rec, &mut c).await {
        c.failure = Some(e);
    }
    c
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

/// A new channel by `page` with `pin`: the number it generated, the
/// pairing code it showed, and the time from submit to the code screen.
/// Leaves the page on the code screen.
pub async fn create_channel(
    page: &Page<'_>,
    pin: &str,
) -> Result<(String, String, Duration), String> {
    page.click("entry-new").await?;
    page.wait_screen(&["new"]).await?;
    page.click("new-generate").await?;
    page.wait_until(
        "a generated number",
        "document.getElementById('new-number').value.length > 6",
    )
    .await?;
    page.fill("new-pin", pin).await?;
    page.fill("new-pin-confirm", pin).await?;
    let submitted = Instant::now();
    page.click("new-create").await?;
    page.wait_until(
        "the pairing code",
        "(document.getElementById('new-pairing-code') || {}).textContent?.trim().length >= 8",
    )
    .await?;
    let took = submitted.elapsed();
    if page.screen().await? != "code" {
        return Err(format!(
            "{}: the pairing code is not on the code screen",
            page.name
        ));
    }
    let number = page.text("code-number").await?;
    let code = page.text("new-pairing-code").await?;
    Ok((number, code, took))
}

/// The first join with a pairing code, the PIN typed twice (STD1-CLI-26),
/// from a fresh load; returns the time from submit to the chat.
pub async fn join_with_code(
    page: &Page<'_>,
    base: &str,
    number: &str,
    code: &str,
    pin: &str,
) -> Result<Duration, String> {
    page.open(base).await?;
    page.click("entry-pair").await?;
    page.wait_screen(&["pair"]).await?;
    page.fill("pair-number", number).await?;
    page.fill("pair-code", code).await?;
    page.fill("pair-pin", pin).await?;
    page.fill("pair-pin-confirm", pin).await?;
    let submitted = Instant::now();
    page.click("pair-submit").await?;
    page.wait_screen(&["chat"]).await?;
    Ok(submitted.elapsed())
}

/// A returning login with the number and PIN; returns the time from
/// submit to the chat.
pub async fn login(page: &Page<'_>, number: &str, pin: &str) -> Result<Duration, String> {
    page.fill("entry-number", number).await?;
    page.fill("entry-pin", pin).await?;
    let submitted = Instant::now();
    page.click("entry-submit").await?;
    page.wait_screen(&["chat"]).await?;
    Ok(submitted.elapsed())
}

async fn play(
    a: &Page<'_>,
    b: &Page<'_>,
    base: &str,
    rec: &mut Recorder,
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
    a.open(base).await?;
    rec.look(a, "entry").await;
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
    rec.look(a, "new-channel").await;
    let (number, code, took) = create_channel_here(a, &pin_a).await?;
    c.timings.push(("create".into(), took));
    c.secrets.number = number;
    c.secrets.pairing_code = code;
    rec.look(a, "pairing-code").await;
    a.click("new-continue").await?;
    a.wait_screen(&["chat"]).await?;
    rec.look(a, "chat-awaiting").await;
    done(c, "Alice created a channel and was shown its pairing code");

    // A number too short for any plan is refused with a message, before
    // anything is sent (STD1-CLI-2).
    b.open(base).await?;
    b.fill("entry-number", "+1 555").await?;
    b.fill("entry-pin", &pin_b).await?;
    b.click("entry-submit").await?;
    b.wait_until("the invalid number refused", ERROR_SHOWN)
        .await?;
    if b.screen().await? != "entry" {
        return Err("an invalid number left the entry screen".into());
    }
    rec.look(b, "entry-invalid-number").await;
    done(c, "an invalid number was refused with a message");

    // Joining with the creator's PIN and the code matches the creator's
    // record: the client must stop and ask for another PIN (STD1-CLI-16).
    b.click("entry-pair").await?;
    b.wait_screen(&["pair"]).await?;
    b.fill("pair-number", &c.secrets.number).await?;
    b.fill("pair-code", &c.secrets.pairing_code).await?;
    b.fill("pair-pin", &pin_a).await?;
    b.fill("pair-pin-confirm", &pin_a).await?;
    b.click("pair-submit").await?;
    b.wait_key("pair-pin-error", "entry.same-pin").await?;
    if b.screen().await? == "chat" {
        return Err("joining with the creator's PIN reached the chat".into());
    }
    rec.look(b, "pair-same-pin").await;
    done(
        c,
        "joining with the creator's PIN was stopped with a request for another PIN",
    );

    // Bob joins with the number, his PIN twice and the code (STD1-CLI-26).
    let took = join_with_code(b, base, &c.secrets.number, &c.secrets.pairing_code, &pin_b).await?;
    c.timings.push(("pair".into(), took));
    done(c, "Bob joined with the pairing code");

    // Alice sends; Bob reads; Alice sees it read (STD1-MSG-2, STD1-CLI-19).
    send(a, &texts[0]).await?;
    expect_message(a, &texts[0], "sent").await?;
    expect_message(b, &texts[0], "received").await?;
    rec.look(b, "chat-received").await;
    a.wait_until(
        "the read receipt",
        "document.getElementById('chat-message')?.dataset.read === 'true'",
    )
    .await?;
    done(c, "Bob received Alice's message and it was marked read");
    inspect(a, "in the chat", c).await;
    inspect(b, "in the chat", c).await;

    // Turn-taking: Alice may not send again; the composer gives way to the
    // waiting card (STD1-CLI-18).
    if a.visible("chat-form").await? || !a.visible("chat-waiting").await? {
        return Err(
            "Alice could write again while her message was current, or no waiting card was shown"
                .into(),
        );
    }
    rec.look(a, "chat-wait-turn").await;
    done(
        c,
        "Alice's composer gave way to the waiting card while her message was current",
    );

    // A paste of 2,800 euro signs (8,400 UTF-8 bytes) does not fit: the
    // composer keeps the part that does and says so, and never holds more
    // than can be encrypted (STD1-CLI-17).
    b.js(
        "const e = document.getElementById('chat-input'); e.value = '\\u20ac'.repeat(2800); e.dispatchEvent(new Event('input', { bubbles: true }));",
        vec![],
    )
    .await?;
    b.wait_key("chat-error", "chat.truncated").await?;
    let bytes = b
        .js(
            "return new TextEncoder().encode(document.getElementById('chat-input').value).length;",
            vec![],
        )
        .await?;
    if bytes.as_u64().is_none_or(|n| !(8170..=8176).contains(&n)) {
        return Err(format!(
            "after the overlong paste the composer holds {bytes} bytes"
        ));
    }
    expect_message(b, &texts[0], "received").await?;
    done(
        c,
        "Bob's overlong paste was cut to what fits, with a message",
    );

    send(b, &texts[1]).await?;
    expect_message(a, &texts[1], "received").await?;
    done(c, "Bob replied");

    // Bob locks (STD1-CLI-9, STD1-CLI-28); Alice writes, edits and deletes meanwhile.
    b.click("chat-lock").await?;
    b.wait_screen(&["locked"]).await?;
    if b.text_key("lock-reason").await? != "locked.by-hand" {
        return Err("the lock screen does not say the user locked it".into());
    }
    inspect(b, "when locked", c).await;
    rec.look(b, "locked").await;
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
    a.click("chat-delete-confirm").await?;
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
    rec.look(b, "locked-wrong-pin").await;
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
    let took = login(a, &c.secrets.number, &pin_a).await?;
    c.timings.push(("login".into(), took));
    expect_message(a, &texts[4], "sent").await?;
    done(c, "Alice logged in again and found her message");

    // Another tab in front hides the page, which locks it (STD1-CLI-10)
    // and says why (STD1-CLI-28); Alice comes back and unlocks.
    a.hide_and_return(base).await?;
    a.wait_screen(&["locked"]).await?;
    if a.text_key("lock-reason").await? != "locked.hidden" {
        return Err("the lock screen does not say the page was hidden".into());
    }
    a.fill("lock-pin", &pin_a).await?;
    a.click("lock-submit").await?;
    a.wait_screen(&["chat"]).await?;
    done(
        c,
        "hiding Alice's page locked it, said why, and she unlocked it",
    );

    // Bob ends the room; both see it end, with nothing left and who ended
    // it (STD1-LIFE-2, STD1-LIFE-9, STD1-LIFE-11).
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
    rec.look(a, "expired").await;
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
    b.wait_until("the not-found message", ERROR_SHOWN).await?;
    if b.screen().await? != "entry" {
        return Err("a join of an ended room left the entry screen".into());
    }
    done(
        c,
        "by keyboard alone, Bob's login to the ended room was answered with a message, and no room was made",
    );
    Ok(())
}

/// [`create_channel`] from the new-channel screen the page is on.
async fn create_channel_here(
    page: &Page<'_>,
    pin: &str,
) -> Result<(String, String, Duration), String> {
    page.fill("new-pin", pin).await?;
    page.fill("new-pin-confirm", pin).await?;
    let submitted = Instant::now();
    page.click("new-create").await?;
    page.wait_screen(&["code"]).await?;
    let took = submitted.elapsed();
    Ok((
        page.text("code-number").await?,
        page.text("new-pairing-code").await?,
        took,
    ))
}

pub async fn send(page: &Page<'_>, text: &str) -> Result<(), String> {
    page.fill("chat-input", text).await?;
    page.click("chat-send").await
}

/// Waits until the page's current message is `text` on `side`.
pub async fn expect_message(page: &Page<'_>, text: &str, side: &str) -> Result<(), String> {
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
    // The number's Show button sits between the two fields.
    for _ in 0..2 {
        page.type_focused(TAB).await?;
        if page.focused().await? == "entry-pin" {
            break;
        }
    }
    if page.focused().await? != "entry-pin" {
        return Err(format!(
            "{}: Tab from the number did not reach the PIN",
            page.name
        ));
    }
    page.type_focused(pin).await?;
    page.type_focused(ENTER).await
}
