//! Accessibility: axe-core, injected into the page by the test (never
//! shipped with the client), run against WCAG 2.x A and AA rules on each
//! screen. Any violation fails the screen's check.
//!
//! axe-core comes from the npm registry as a test-only asset: `.ci/run`
//! installs it under `conformance/browser-assets/`; `STELGANO_AXE_JS`
//! points elsewhere.

use std::path::PathBuf;

use fantoccini::Client;
use serde_json::Value;

/// Where `.ci/run` installs axe-core.
pub fn default_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("browser-assets/node_modules/axe-core/axe.min.js")
}

/// The axe-core source, if installed.
pub fn load() -> Result<String, String> {
    let path = std::env::var_os("STELGANO_AXE_JS").map_or_else(default_path, PathBuf::from);
    std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "axe-core is not at {} ({e}); `npm install --prefix conformance/browser-assets axe-core` or set STELGANO_AXE_JS",
            path.display()
        )
    })
}

/// The rule sets checked: WCAG 2.0, 2.1 and 2.2, levels A and AA.
const RUN: &str = r#"
const done = arguments[arguments.length - 1];
window.axe
  .run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } })
  .then((r) => done({ ok: r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 3) })) }))
  .catch((e) => done({ error: String(e) }));
"#;

/// The violations on the current page, each described in one line.
pub async fn violations(client: &Client, axe_source: &str) -> Result<Vec<String>, String> {
    let present = client
        .execute("return typeof window.axe === 'object';", vec![])
        .await
        .map_err(|e| e.to_string())?;
    if present != Value::Bool(true) {
        client
            .execute(&format!("{axe_source}\nreturn true;"), vec![])
            .await
            .map_err(|e| format!("injecting axe-core: {e}"))?;
    }
    let result = client
        .execute_async(RUN, vec![])
        .await
        .map_err(|e| e.to_string())?;
    if let Some(e) = result["error"].as_str() {
        return Err(e.to_owned());
    }
    Ok(result["ok"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            format!(
                "{} ({}): {} at {}",
                v["id"].as_str().unwrap_or("?"),
                v["impact"].as_str().unwrap_or("?"),
                v["help"].as_str().unwrap_or(""),
                v["nodes"]
            )
        })
        .collect())
}
