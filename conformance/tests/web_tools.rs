//! The web client's development tools in `web/tools/`, run in Node.
//!
//! Its numbering-plan data (STD1-CLI-25): `web/js/phone-data.js`
//! must be exactly what `web/tools/phone-data.mjs` generates from the pinned
//! libphonenumber-js, and `web/js/phone.js` must pass its tests against
//! that library (every territory's generated and example numbers, national
//! forms, and an oracle comparison). Both run in Node with the pinned
//! package installed (`npm ci --prefix web/tools`); without Node or the
//! package the test is skipped with a loud notice, except under `CI=true`,
//! where it is mandatory, as the browser suite is.
//!
//! Its text tables (STD1-CLI-32): the same keys and placeholders in every
//! language, every plural form each language uses, and every key the page
//! names present.

use std::path::{Path, PathBuf};
use std::process::Command;

fn tools() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/tools")
}

/// Whether the test can run here; `Err` says why not.
fn available() -> Result<(), String> {
    if Command::new("node").arg("--version").output().is_err() {
        return Err("node is not installed".into());
    }
    if !tools().join("node_modules/libphonenumber-js").is_dir() {
        return Err("libphonenumber-js is not installed: npm ci --prefix web/tools".into());
    }
    Ok(())
}

fn node(script: &str, args: &[&str]) -> (bool, String) {
    let output = Command::new("node")
        .arg(tools().join(script))
        .args(args)
        .current_dir(tools())
        .output()
        .expect("node runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn skip_or_fail() -> bool {
    match available() {
        Ok(()) => false,
        Err(why) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("the numbering-plan tests are mandatory under CI: {why}")
        }
        Err(why) => {
            eprintln!("\n*** numbering-plan tests SKIPPED here: {why} ***\n");
            true
        }
    }
}

#[test]
fn the_committed_data_is_what_the_generator_makes() {
    if skip_or_fail() {
        return;
    }
    let (ok, text) = node("phone-data.mjs", &["--check"]);
    assert!(ok, "{text}");
}

#[test]
fn phone_js_agrees_with_libphonenumber() {
    if skip_or_fail() {
        return;
    }
    let (ok, text) = node("phone-test.mjs", &[]);
    println!("{text}");
    assert!(ok, "{text}");
    assert!(text.contains(" 0 failed"), "{text}");
}

#[test]
fn every_language_has_every_text() {
    if Command::new("node").arg("--version").output().is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "node is mandatory under CI"
        );
        eprintln!("\n*** text table test SKIPPED here: node is not installed ***\n");
        return;
    }
    let (ok, text) = node("texts-test.mjs", &[]);
    println!("{text}");
    assert!(ok, "{text}");
}
