//! The client as different people's browsers show it (STD1-CLI-24,
//! STD1-CLI-32, STD1-CLI-33): the dark theme, a browser that asks for
//! Spanish, the three languages switched in place, a desktop window, and
//! a browser without JavaScript. Each is a browser of its own, started
//! with the preference it stands for; every screen reached is looked at
//! (axe-core in that theme and language, width, screenshot).

use std::time::Instant;

use fantoccini::{Client, Locator};
use serde_json::Value;

use super::conversation::{create_channel, expect_message, join_with_code, letters, send};
use super::driver::{Driver, Look};
use super::hygiene;
use super::look::Recorder;
use super::page::Page;
use super::{Outcome, outcome_check as result};
use crate::report::CheckResult;

/// Every requirement these checks name (for `coverage`).
pub const REQUIREMENTS: [&str; 3] = ["STD1-CLI-24", "STD1-CLI-32", "STD1-CLI-33"];

/// Runs each presentation in a browser started for it; `partner` is a
/// light, English phone that joins the rooms these browsers create.
pub async fn run(
    driver: &Driver,
    partner: &Page<'_>,
    base: &str,
    rec: &mut Recorder,
) -> Vec<CheckResult> {
    let mut out = Vec::new();
    let looks: [(&str, &[&str], Look); 4] = [
        (
            "dark-theme",
            &["STD1-CLI-32", "STD1-CLI-24"],
            Look {
                dark: true,
                ..Look::default()
            },
        ),
        (
            "browser-language",
            &["STD1-CLI-32"],
            Look {
                language: Some("es"),
                ..Look::default()
            },
        ),
        (
            "desktop-layout",
            &["STD1-CLI-24"],
            Look {
                desktop: true,
                ..Look::default()
            },
        ),
        (
            "noscript",
            &["STD1-CLI-33"],
            Look {
                javascript: false,
                ..Look::default()
            },
        ),
    ];
    for (name, requirements, look) in looks {
        let started = Instant::now();
        let outcome = match driver.session_as(name, &look).await {
            Err(e) => Err(e.to_string()),
            Ok(client) => {
                let page = Page {
                    name,
                    client: &client,
                };
                let outcome = match name {
                    "dark-theme" => dark_theme(&page, partner, base, rec).await,
                    "browser-language" => languages(&page, partner, base, rec).await,
                    "desktop-layout" => desktop(&page, partner, base, rec).await,
                    _ => noscript(&client, base, rec).await,
                };
                let _ = client.close().await;
                outcome
            }
        };
        out.push(result(name, requirements, outcome, started.elapsed()));
    }
    out
}

/// The luminance (0 dark to 1 light) of the page's background.
async fn background_luminance(page: &Page<'_>) -> Result<f64, String> {
    let v = page
        .js(
            "const m = getComputedStyle(document.body).backgroundColor.match(/\\d+(\\.\\d+)?/g).map(Number); const lin = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; }; return 0.2126 * lin(m[0]) + 0.7152 * lin(m[1]) + 0.0722 * lin(m[2]);",
            vec![],
        )
        .await?;
    v.as_f64()
        .ok_or_else(|| format!("no background colour: {v}"))
}

/// STD1-CLI-32, STD1-CLI-24: a browser that prefers dark gets the dark
/// theme on every screen, each passing axe-core there.
async fn dark_theme(
    page: &Page<'_>,
    partner: &Page<'_>,
    base: &str,
    rec: &mut Recorder,
) -> Outcome {
    page.open(base).await?;
    let luminance = background_luminance(page).await?;
    if luminance > 0.1 {
        return Err(format!(
            "the page prefers dark but its background's luminance is {luminance:.2}"
        ));
    }
    rec.look(page, "entry-dark").await;
    let pin = format!("d-{}", letters(8)?);
    let (number, code, _) = create_channel(page, &pin).await?;
    rec.look(page, "code-dark").await;
    page.click("new-continue").await?;
    page.wait_screen(&["chat"]).await?;
    join_with_code(partner, base, &number, &code, &format!("p-{}", letters(8)?)).await?;
    let text = format!("good evening {}", letters(6)?);
    send(partner, &text).await?;
    expect_message(page, &text, "received").await?;
    rec.look(page, "chat-dark").await;
    page.click("chat-lock").await?;
    page.wait_screen(&["locked"]).await?;
    rec.look(page, "locked-dark").await;
    Ok(format!(
        "background luminance {luminance:.3}; entry, code, chat and lock screens looked at in the dark theme"
    ))
}

/// STD1-CLI-32: a browser asking for Spanish gets Spanish; the three
/// languages switch in place, Arabic mirrored, nothing stored; the main
/// screens (start, new channel, code, chat, lock) are looked at in Spanish
/// and in Arabic (English is every other check's).
async fn languages(page: &Page<'_>, partner: &Page<'_>, base: &str, rec: &mut Recorder) -> Outcome {
    page.open(base).await?;
    let chosen = page
        .js(
            "return [document.documentElement.lang, document.getElementById('language').value, navigator.language];",
            vec![],
        )
        .await?;
    if chosen[0] != "es" || chosen[1] != "es" {
        return Err(format!(
            "a browser asking for Spanish got [page, selector, browser] {chosen}"
        ));
    }
    rec.look(page, "entry-es").await;
    page.click("entry-new").await?;
    page.wait_screen(&["new"]).await?;
    rec.look(page, "new-channel-es").await;
    page.open(base).await?;
    main_screens(page, partner, base, "es", rec).await?;
    page.open(base).await?;
    page.set_language("ar").await?;
    main_screens(page, partner, base, "ar", rec).await?;
    page.open(base).await?;
    page.js("window.__stayed = true;", vec![]).await?;
    let mut labels = Vec::new();
    for (code, dir) in [("en", "ltr"), ("ar", "rtl"), ("es", "ltr")] {
        page.set_language(code).await?;
        let state = page
            .js(
                "return [window.__stayed === true, document.documentElement.lang, document.documentElement.dir, document.getElementById('entry-submit').textContent];",
                vec![],
            )
            .await?;
        if state[0] != Value::Bool(true) || state[1] != code || state[2] != dir {
            return Err(format!(
                "switching to {code}: [no reload, lang, dir, label] = {state}"
            ));
        }
        labels.push(state[3].as_str().unwrap_or_default().to_owned());
        if code == "ar" {
            rec.look(page, "entry-ar").await;
        }
    }
    if labels
        .iter()
        .collect::<std::collections::HashSet<_>>()
        .len()
        != 3
    {
        return Err(format!("the Open button reads {labels:?} in en, ar and es"));
    }
    if let Some(problem) = hygiene::page_state(page.client).await.first() {
        return Err(format!("after switching languages: {problem}"));
    }
    Ok(format!(
        "Spanish from the browser; switched in place: Open is {labels:?}; nothing stored"
    ))
}

/// A channel made, joined by `partner`, written to and locked in the
/// page's current language, each screen looked at as `<screen>-<lang>`.
async fn main_screens(
    page: &Page<'_>,
    partner: &Page<'_>,
    base: &str,
    lang: &str,
    rec: &mut Recorder,
) -> Result<(), String> {
    let pin = format!("l-{}", letters(8)?);
    if lang != "es" {
        page.click("entry-new").await?;
        page.wait_screen(&["new"]).await?;
        rec.look(page, &format!("new-channel-{lang}")).await;
        page.click("new-back").await?;
        page.wait_screen(&["entry"]).await?;
    }
    let (number, code, _) = create_channel(page, &pin).await?;
    rec.look(page, &format!("code-{lang}")).await;
    page.click("new-continue").await?;
    page.wait_screen(&["chat"]).await?;
    join_with_code(partner, base, &number, &code, &format!("p-{}", letters(8)?)).await?;
    let text = format!("hola {}", letters(6)?);
    send(partner, &text).await?;
    expect_message(page, &text, "received").await?;
    rec.look(page, &format!("chat-{lang}")).await;
    page.click("chat-lock").await?;
    page.wait_screen(&["locked"]).await?;
    rec.look(page, &format!("locked-{lang}")).await;
    Ok(())
}

/// STD1-CLI-24: at 1280×800 the screens fit and pass axe-core.
async fn desktop(page: &Page<'_>, partner: &Page<'_>, base: &str, rec: &mut Recorder) -> Outcome {
    page.open(base).await?;
    let width = page.js("return innerWidth;", vec![]).await?;
    if width.as_u64().is_none_or(|w| w < 1000) {
        return Err(format!("the desktop window is {width} px wide"));
    }
    rec.look(page, "desktop-entry").await;
    let pin = format!("w-{}", letters(8)?);
    page.click("entry-new").await?;
    page.wait_screen(&["new"]).await?;
    rec.look(page, "desktop-new-channel").await;
    page.open(base).await?;
    let (number, code, _) = create_channel(page, &pin).await?;
    rec.look(page, "desktop-code").await;
    page.click("new-continue").await?;
    page.wait_screen(&["chat"]).await?;
    join_with_code(partner, base, &number, &code, &format!("p-{}", letters(8)?)).await?;
    let text = format!("from the laptop {}", letters(6)?);
    send(partner, &text).await?;
    expect_message(page, &text, "received").await?;
    rec.look(page, "desktop-chat").await;
    Ok(format!(
        "{width} px wide; entry, new channel, code and chat looked at"
    ))
}

/// STD1-CLI-33: without JavaScript the page says it needs it, shows no
/// form, and so can send nothing.
async fn noscript(client: &Client, base: &str, rec: &mut Recorder) -> Outcome {
    client.goto(base).await.map_err(|e| e.to_string())?;
    let notice = client
        .find(Locator::Id("noscript"))
        .await
        .map_err(|e| format!("no notice without JavaScript: {e}"))?;
    let shown = notice.is_displayed().await.map_err(|e| e.to_string())?;
    let text = notice.text().await.map_err(|e| e.to_string())?;
    let main = client
        .find(Locator::Id("main"))
        .await
        .map_err(|e| e.to_string())?;
    let forms_shown = main.is_displayed().await.map_err(|e| e.to_string())?;
    if !shown || !text.contains("JavaScript") || forms_shown {
        return Err(format!(
            "without JavaScript: notice shown {shown}, text {text:?}, forms shown {forms_shown}"
        ));
    }
    let page = Page {
        name: "noscript",
        client,
    };
    rec.photo(&page, "noscript").await;
    Ok("the notice is shown and no form is".into())
}
