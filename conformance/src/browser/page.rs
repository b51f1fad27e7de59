//! Driving the client's page by the element ids of its contract
//! (`web/README.md`): filling fields, clicking, and waiting for a screen or
//! a condition. Waits poll the page until a deadline; they never sleep a
//! fixed time in place of a condition.

use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::Value;

/// How long a screen may take to appear; PBKDF2 at 600,000 iterations
/// runs before the chat screen.
pub const SCREEN_TIMEOUT: Duration = Duration::from_secs(60);

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);

/// One party's browser.
pub struct Page<'a> {
    pub name: &'static str,
    pub client: &'a Client,
}

impl Page<'_> {
    fn err(&self, what: impl std::fmt::Display) -> String {
        format!("{}: {what}", self.name)
    }

    /// The screen the client shows (`body[data-screen]`).
    pub async fn screen(&self) -> Result<String, String> {
        let v = self
            .client
            .execute("return document.body.dataset.screen || '';", vec![])
            .await
            .map_err(|e| self.err(e))?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// Waits until the page shows one of `screens`; returns which.
    pub async fn wait_screen(&self, screens: &[&str]) -> Result<String, String> {
        let deadline = tokio::time::Instant::now() + SCREEN_TIMEOUT;
        loop {
            let now = self.screen().await?;
            if screens.contains(&now.as_str()) {
                return Ok(now);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(self.err(format!(
                    "waited {SCREEN_TIMEOUT:?} for the {} screen, still on {now:?}{}",
                    screens.join(" or "),
                    self.visible_error().await
                )));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until `condition` (a JavaScript expression) is true.
    pub async fn wait_until(&self, what: &str, condition: &str) -> Result<(), String> {
        let script = format!("return Boolean({condition});");
        let deadline = tokio::time::Instant::now() + SCREEN_TIMEOUT;
        loop {
            let v = self
                .client
                .execute(&script, vec![])
                .await
                .map_err(|e| self.err(e))?;
            if v == Value::Bool(true) {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(self.err(format!(
                    "waited {SCREEN_TIMEOUT:?} for {what}{}",
                    self.visible_error().await
                )));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The text of whichever error element the screen shows, for reports.
    async fn visible_error(&self) -> String {
        let script = "return [...document.querySelectorAll('.error')]\
            .filter((e) => e.offsetParent !== null && e.textContent.trim())\
            .map((e) => e.id + ': ' + e.textContent.trim()).join('; ');";
        match self.client.execute(script, vec![]).await {
            Ok(Value::String(s)) if !s.is_empty() => format!(" (shown: {s})"),
            _ => String::new(),
        }
    }

    pub async fn fill(&self, id: &str, text: &str) -> Result<(), String> {
        let field = self
            .client
            .find(Locator::Id(id))
            .await
            .map_err(|e| self.err(format!("#{id}: {e}")))?;
        field
            .clear()
            .await
            .map_err(|e| self.err(format!("#{id}: {e}")))?;
        field
            .send_keys(text)
            .await
            .map_err(|e| self.err(format!("#{id}: {e}")))
    }

    pub async fn click(&self, id: &str) -> Result<(), String> {
        self.client
            .find(Locator::Id(id))
            .await
            .map_err(|e| self.err(format!("#{id}: {e}")))?
            .click()
            .await
            .map_err(|e| self.err(format!("clicking #{id}: {e}")))
    }

    /// A property of an element (`value`, `disabled`, `textContent`, …).
    pub async fn prop(&self, id: &str, name: &str) -> Result<Value, String> {
        self.client
            .execute(
                "const e = document.getElementById(arguments[0]); return e ? e[arguments[1]] : null;",
                vec![Value::from(id), Value::from(name)],
            )
            .await
            .map_err(|e| self.err(e))
    }

    pub async fn text(&self, id: &str) -> Result<String, String> {
        Ok(self
            .prop(id, "textContent")
            .await?
            .as_str()
            .unwrap_or_default()
            .trim()
            .to_owned())
    }

    /// Whether the element exists and is rendered.
    pub async fn visible(&self, id: &str) -> Result<bool, String> {
        let v = self
            .client
            .execute(
                "const e = document.getElementById(arguments[0]); return Boolean(e && !e.hidden && e.offsetParent !== null);",
                vec![Value::from(id)],
            )
            .await
            .map_err(|e| self.err(e))?;
        Ok(v == Value::Bool(true))
    }

    /// The id of the element that has the keyboard focus.
    pub async fn focused(&self) -> Result<String, String> {
        let v = self
            .client
            .execute(
                "return document.activeElement ? document.activeElement.id : '';",
                vec![],
            )
            .await
            .map_err(|e| self.err(e))?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// Types into whatever has the focus, as a keyboard would.
    pub async fn type_focused(&self, text: &str) -> Result<(), String> {
        self.client
            .find(Locator::Css(":focus"))
            .await
            .map_err(|e| self.err(format!("the focused element: {e}")))?
            .send_keys(text)
            .await
            .map_err(|e| self.err(e))
    }

    /// A PNG of the page.
    pub async fn screenshot(&self) -> Result<Vec<u8>, String> {
        self.client.screenshot().await.map_err(|e| self.err(e))
    }
}

impl Page<'_> {
    /// Runs a script (its `arguments` are `args`) and returns its value.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Result<Value, String> {
        self.client
            .execute(script, args)
            .await
            .map_err(|e| self.err(e))
    }

    /// A script's boolean answer.
    pub async fn truth(&self, expression: &str) -> Result<bool, String> {
        Ok(self
            .js(&format!("return Boolean({expression});"), vec![])
            .await?
            == Value::Bool(true))
    }

    /// Loads the client afresh: nothing of the last visit survives a load
    /// (STD1-CLI-4), so one browser serves several independent checks.
    pub async fn open(&self, base: &str) -> Result<(), String> {
        self.client.goto(base).await.map_err(|e| self.err(e))?;
        self.wait_screen(&["entry"]).await.map(drop)
    }

    /// Switches the page's language with its own selector, in place
    /// (STD1-CLI-32).
    pub async fn set_language(&self, code: &str) -> Result<(), String> {
        self.js(
            "const s = document.getElementById('language'); s.value = arguments[0]; s.dispatchEvent(new Event('change', { bubbles: true })); return document.documentElement.lang;",
            vec![Value::from(code)],
        )
        .await
        .map(drop)
    }

    /// The text key an element shows (`data-t`), which names the condition
    /// whatever the language.
    pub async fn text_key(&self, id: &str) -> Result<String, String> {
        Ok(self
            .js(
                "const e = document.getElementById(arguments[0]); return e && e.dataset.t || '';",
                vec![Value::from(id)],
            )
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// Waits until the element shows the text of `key`.
    pub async fn wait_key(&self, id: &str, key: &str) -> Result<(), String> {
        self.wait_until(
            &format!("#{id} to say {key}"),
            &format!(
                "(document.getElementById({}) || {{ dataset: {{}} }}).dataset.t === {}",
                js_string(id),
                js_string(key)
            ),
        )
        .await
    }

    /// Opens a tab in front of the page, loads `base` there (which takes
    /// the old page's `visibilitychange` to hidden time to be handled),
    /// then closes it and returns: an app switch, as a phone makes one.
    pub async fn hide_and_return(&self, base: &str) -> Result<(), String> {
        let err = |e: fantoccini::error::CmdError| self.err(e);
        let original = self.client.window().await.map_err(err)?;
        let tab = self.client.new_window(true).await.map_err(err)?;
        self.client
            .switch_to_window(tab.handle)
            .await
            .map_err(err)?;
        self.client.goto(base).await.map_err(err)?;
        self.wait_screen(&["entry"]).await?;
        self.client.close_window().await.map_err(err)?;
        self.client.switch_to_window(original).await.map_err(err)
    }
}

/// A JavaScript string literal of `text`.
pub fn js_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "''".into())
}
