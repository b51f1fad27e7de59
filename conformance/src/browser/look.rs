//! Looking at a screen: axe-core's WCAG 2.2 A/AA rules (STD1-CLI-24), a
//! check that the page fits its viewport without horizontal scrolling,
//! and a screenshot, each kept under the screen's name for the report.

use std::path::PathBuf;

use serde_json::Value;

use super::axe;
use super::page::Page;

/// What the suite saw of each screen it looked at.
#[derive(Debug, Default)]
pub struct Recorder {
    axe_source: Option<String>,
    dir: Option<PathBuf>,
    /// axe-core's findings per screen, in the order looked at.
    pub axe: Vec<(String, Result<Vec<String>, String>)>,
    /// Screens wider than their viewport (WCAG 1.4.10, STD1-CLI-24).
    pub overflow: Vec<String>,
    /// Screenshots written.
    pub screenshots: Vec<PathBuf>,
}

impl Recorder {
    pub fn new(axe_source: Option<String>, dir: Option<PathBuf>) -> Self {
        Self {
            axe_source,
            dir,
            ..Self::default()
        }
    }

    /// axe-core, the width check and a screenshot, as `name`.
    pub async fn look(&mut self, page: &Page<'_>, name: &str) {
        if let Some(source) = &self.axe_source {
            let found = axe::violations(page.client, source).await;
            self.axe.push((name.to_owned(), found));
        }
        match page.horizontal_overflow().await {
            Ok(None) => {}
            Ok(Some(widths)) => self.overflow.push(format!("{name}: {widths}")),
            Err(e) => self.overflow.push(format!("{name}: {e}")),
        }
        self.photo(page, name).await;
    }

    /// A screenshot only, as `name.png`.
    pub async fn photo(&mut self, page: &Page<'_>, name: &str) {
        let Some(dir) = &self.dir else { return };
        if let Ok(png) = page.screenshot().await {
            let path = dir.join(format!("{name}.png"));
            if std::fs::create_dir_all(dir).is_ok() && std::fs::write(&path, png).is_ok() {
                self.screenshots.push(path);
            }
        }
    }
}

impl Page<'_> {
    /// `Some("content × viewport")` when the page is wider than its
    /// viewport.
    pub async fn horizontal_overflow(&self) -> Result<Option<String>, String> {
        let v = self
            .client
            .execute(
                "const d = document.documentElement; return d.scrollWidth > d.clientWidth + 1 ? d.scrollWidth + ' px in ' + d.clientWidth : null;",
                vec![],
            )
            .await
            .map_err(|e| format!("{}: {e}", self.name))?;
        Ok(match v {
            Value::String(s) => Some(s),
            _ => None,
        })
    }
}
