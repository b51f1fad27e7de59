//! Every requirement that binds a server is cited by a test of the server,
//! of the spec crate or of the harness's suites run against this server
//! (`conformance/tests`), except those listed here as not yet tested, each
//! with the reason. The list can only shrink: a requirement that gains a
//! test must leave it, and a new one must gain a test or join it.

use std::path::Path;

use stelgano_spec::requirements::{REQUIREMENTS, Role, cited_ids};

/// Server requirements without a test yet, and why.
const NOT_YET_TESTED: &[(&str, &str)] = &[];

/// The test sources: integration tests of both crates and the unit tests
/// (from `#[cfg(test)]` on) of their sources.
fn test_text() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut text = String::new();
    for dir in [
        "server/tests",
        // The fault suite runs against this server (STD1-SRV-28, -29).
        "conformance/tests",
        "spec/tests",
        "server/src",
        "server/src/store",
        "server/src/admin",
        "spec/src",
        "spec/src/wire",
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            // This file names the untested ones; it tests none of them.
            if path.extension().is_none_or(|e| e != "rs")
                || path.ends_with("requirement_coverage.rs")
            {
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap_or_default();
            let tests_part = if dir.ends_with("tests") {
                source.as_str()
            } else {
                source.find("#[cfg(test)]").map_or("", |at| &source[at..])
            };
            text.push_str(tests_part);
            text.push('\n');
        }
    }
    text
}

/// Cited identifiers, with ranges `STD1-X-a to STD1-X-b` expanded.
fn cited(text: &str) -> Vec<String> {
    let mut ids: Vec<String> = cited_ids(text).into_iter().map(str::to_owned).collect();
    let words: Vec<&str> = text.split_whitespace().collect();
    for window in words.windows(3) {
        let [from, "to", to] = window else { continue };
        let (from, to) = (
            from.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '-'),
            to.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '-'),
        );
        let split = |id: &str| {
            id.rsplit_once('-')
                .and_then(|(area, n)| Some((area.to_owned(), n.parse::<u32>().ok()?)))
        };
        if let (Some((area, a)), Some((area_b, b))) = (split(from), split(to))
            && area == area_b
            && area.starts_with("STD1-")
        {
            ids.extend((a..=b).map(|n| format!("{area}-{n}")));
        }
    }
    ids
}

#[test]
fn every_server_requirement_has_a_test() {
    let cited = cited(&test_text());
    let untested: Vec<&str> = REQUIREMENTS
        .iter()
        .filter(|r| matches!(r.role, Role::Server | Role::Both))
        .map(|r| r.id)
        .filter(|id| !cited.iter().any(|c| c == id))
        .collect();
    let listed: Vec<&str> = NOT_YET_TESTED.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        untested, listed,
        "untested server requirements differ from the documented list"
    );
}
