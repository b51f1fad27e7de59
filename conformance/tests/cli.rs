//! The harness's command line, end to end: it starts the reference server,
//! runs every suite, writes its reports, and says so in its last line
//! (issue: the CLI path is run by `cargo test`).

use std::process::Command;

fn harness() -> Command {
    Command::new(env!("CARGO_BIN_EXE_stelgano-conformance"))
}

fn last_line(stdout: &[u8]) -> String {
    String::from_utf8_lossy(stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn the_reference_server_passes_every_check() {
    let dir = std::env::temp_dir().join(format!("stelgano-conformance-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("report folder");
    let skip = dir.join("skip.txt");
    std::fs::write(
        &skip,
        "# a skipped check keeps its reason\nvectors/frame-001  shown as skipped\n",
    )
    .expect("skip file");
    let (json, junit) = (dir.join("report.json"), dir.join("report.xml"));
    // The browser suite has a test target of its own (tests/browser.rs).
    let output = harness()
        .args(["run", "--suite", "vectors,model,features,timing"])
        .arg("--skip")
        .arg(&skip)
        .arg("--json")
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .output()
        .expect("the harness runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("JSON report")).expect("JSON");
    let counts = &report["counts"];
    let (model, vectors) = (&counts["model"], &counts["vectors"]);
    let (features, timing) = (&counts["features"], &counts["timing"]);
    assert!(model["passed"].as_u64() > Some(1000), "{model}");
    // Every scenario runs: the reference exposes its database and log.
    assert!(features["passed"].as_u64() >= Some(30), "{features}");
    assert_eq!(features["skipped"], 0, "{features}");
    // The floor check and the six pairs of join paths.
    assert_eq!(timing["passed"], 7, "{timing}");
    for suite in [model, vectors, features, timing] {
        assert_eq!(suite["failed"], 0, "{counts}");
    }
    assert_eq!(vectors["skipped"], 1, "the skip file was honoured");
    let passed: u64 = [model, vectors, features, timing]
        .iter()
        .map(|suite| suite["passed"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(
        last_line(&output.stdout),
        format!("{passed} passed, 0 failed")
    );
    let xml = std::fs::read_to_string(&junit).expect("JUnit report");
    assert!(xml.starts_with("<?xml") && xml.contains("<testsuite name=\"model\""));
    let _ = std::fs::remove_dir_all(&dir);
    compare_with_expected(&report);
}

/// The reference server's verdicts are committed
/// (`conformance/expected/reference.json`): a change of results fails until
/// that file changes with it. `STELGANO_BLESS=1` rewrites it. Random walks,
/// whose names change with the seed, are left out.
fn compare_with_expected(report: &serde_json::Value) {
    let verdicts: std::collections::BTreeMap<String, String> = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| {
            !r["id"]
                .as_str()
                .unwrap_or_default()
                .starts_with("model/walk-")
        })
        .map(|r| {
            (
                r["id"].as_str().unwrap_or_default().to_owned(),
                r["verdict"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("expected/reference.json");
    let fresh = serde_json::to_string_pretty(&verdicts).expect("JSON") + "\n";
    if std::env::var_os("STELGANO_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("folder")).expect("folder");
        std::fs::write(&path, &fresh).expect("write the expected results");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "the reference server's results differ from conformance/expected/reference.json; \
         if the change is intended, rerun with STELGANO_BLESS=1 and commit the file"
    );
}

#[test]
fn a_target_that_is_not_there_fails_the_run() {
    // The harness can fail: nothing listens on port 1.
    let output = harness()
        .args([
            "run",
            "--target",
            "ws://127.0.0.1:1/ws",
            "--suite",
            "vectors",
        ])
        .output()
        .expect("the harness runs");
    assert_eq!(output.status.code(), Some(1));
    let last = last_line(&output.stdout);
    assert!(
        last.starts_with("0 passed, ") && !last.ends_with(" 0 failed"),
        "{last}"
    );
}

#[test]
fn coverage_lists_every_requirement_and_every_server_must_is_checked() {
    // Issue: traceability; CI fails when a MUST requirement of servers has
    // no test, trace or harness check.
    let json = std::env::temp_dir().join(format!("stelgano-coverage-{}.json", std::process::id()));
    let output = harness()
        .arg("coverage")
        .arg("--json")
        .arg(&json)
        .output()
        .expect("the harness runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let sites: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("JSON")).expect("JSON");
    let _ = std::fs::remove_file(&json);
    let sites = sites.as_array().expect("a list");
    assert_eq!(sites.len(), stelgano_spec::requirements::REQUIREMENTS.len());
    let send = sites
        .iter()
        .find(|s| s["id"] == "STD1-MSG-2")
        .expect("STD1-MSG-2");
    assert!(
        send["code"].as_array().is_some_and(|c| !c.is_empty()),
        "{send}"
    );
    assert!(send["traces"].as_u64() > Some(0), "{send}");
    assert!(last_line(&output.stdout).contains("requirements checked"));
}
