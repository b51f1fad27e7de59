//! The browser suite against the reference server and its web client,
//! through the command line: two headless Chromium browsers hold a whole
//! conversation, axe-core checks every screen, the spec vectors are
//! recomputed in Web Crypto, and a recording proxy proves the server saw no
//! secret; afterwards the reference server's administration page is opened
//! authenticated, checked and photographed. Mandatory where `CI=true`; elsewhere, without chromium,
//! chromedriver or axe-core, the harness skips the suite with a loud notice
//! and this test says so.

use std::process::Command;

#[test]
fn the_reference_client_passes_the_browser_suite() {
    let dir = std::env::temp_dir().join(format!("stelgano-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("report folder");
    let (json, shots) = (dir.join("report.json"), dir.join("screens"));
    let output = Command::new(env!("CARGO_BIN_EXE_stelgano-conformance"))
        .args(["run", "--suite", "browser"])
        .arg("--json")
        .arg(&json)
        .arg("--screenshots")
        .arg(&shots)
        .output()
        .expect("the harness runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("JSON report")).expect("JSON");
    let results = report["results"].as_array().expect("results");
    if let [only] = results.as_slice()
        && only["id"] == "browser/available"
        && only["verdict"] == "skipped"
    {
        eprintln!("\n*** browser suite SKIPPED here: {} ***\n", only["reason"]);
        return;
    }
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let failed: Vec<&serde_json::Value> =
        results.iter().filter(|r| r["verdict"] != "pass").collect();
    assert!(failed.is_empty(), "{failed:#?}");
    let id = |name: &str| results.iter().any(|r| r["id"] == name);
    // Issue 17: at least 35 browser checks, none skipped, and each slip
    // of spec §12.5 as a check of its own.
    assert!(results.len() >= 35, "{} checks", results.len());
    for check in [
        "browser/vectors-derivation",
        "browser/vectors-encryption",
        "browser/vectors-pairing",
        "browser/vectors-random",
        "browser/conversation",
        "browser/blindness",
        "browser/layout",
        "browser/slip-pin-confirmation",
        "browser/slip-returning-wrong-pin",
        "browser/slip-reopen-after-typo",
        "browser/slip-code-screen-app-switch",
        "browser/slip-form-app-switch",
        "browser/slip-national-numbers",
        "browser/slip-typed-spacing",
        "browser/slip-offline-draft",
        "browser/number-share",
        "browser/opening-in-place",
        "browser/lifetime-visible",
        "browser/waiting-card-and-delete",
        "browser/emoji-at-the-limit",
        "browser/rtl-conversation",
        "browser/lock-notice",
        "browser/ended-by-whom",
        "browser/dark-theme",
        "browser/browser-language",
        "browser/desktop-layout",
        "browser/noscript",
        "browser/axe-entry",
        "browser/axe-chat-received",
        "browser/axe-locked",
        "browser/axe-expired",
        "browser/axe-pairing-code",
        "browser/axe-code-reopen",
        "browser/axe-expired-replaced",
        "browser/axe-chat-offline",
        "browser/axe-chat-lock-notice",
        "browser/axe-chat-arabic",
        "browser/axe-entry-dark",
        "browser/axe-chat-dark",
        "browser/axe-entry-es",
        "browser/axe-code-es",
        "browser/axe-chat-es",
        "browser/axe-locked-es",
        "browser/axe-new-channel-ar",
        "browser/axe-code-ar",
        "browser/axe-chat-ar",
        "browser/axe-locked-ar",
        "browser/axe-desktop-chat",
        "browser/admin-page",
        "browser/admin-counters",
        "browser/admin-charts",
        "browser/axe-admin",
    ] {
        assert!(id(check), "{check} missing from {results:#?}");
    }
    let pngs = std::fs::read_dir(&shots).map(|d| d.count()).unwrap_or(0);
    assert!(pngs >= 30, "{pngs} screenshots");
    assert!(
        shots.join("admin-dashboard.png").is_file(),
        "no screenshot of the administration page"
    );
    assert!(
        stdout.contains("administration page: checked, Messages sent"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
