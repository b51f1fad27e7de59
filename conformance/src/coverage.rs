//! Traceability: for every requirement of the specification, the code
//! that implements it and the tests, traces and harness checks that check
//! it, found by the `STD1-…` citations the sources carry.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use stelgano_spec::requirements::{Level, REQUIREMENTS, Role, cited_ids};

/// Where one requirement is cited.
#[derive(Debug, Default, Serialize)]
pub struct Sites {
    pub id: &'static str,
    pub level: &'static str,
    pub role: &'static str,
    pub title: &'static str,
    /// `path:line` in implementation code.
    pub code: Vec<String>,
    /// `path:line` in tests (test files, `#[cfg(test)]` modules, features).
    pub tests: Vec<String>,
    /// Traces of the corpus that exercise it.
    pub traces: usize,
    /// Whether a harness check names it.
    pub harness: bool,
}

impl Sites {
    pub fn checked(&self) -> bool {
        !self.tests.is_empty() || self.traces > 0 || self.harness
    }
}

/// The source folders searched, from the repository root.
const ROOTS: [&str; 6] = ["spec", "server", "model", "conformance", "web", "features"];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || matches!(&*name, "target" | "traces" | "node_modules") {
            continue;
        }
        if path.is_dir() {
            files(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("rs" | "js" | "mjs" | "html" | "feature")
        ) {
            out.push(path);
        }
    }
}

/// Collects the citations under `root` and in the trace corpus.
pub fn collect(root: &Path, harness_ids: &[&str]) -> Vec<Sites> {
    let index: HashMap<&str, usize> = REQUIREMENTS
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id, i))
        .collect();
    let mut sites: Vec<Sites> = REQUIREMENTS
        .iter()
        .map(|r| Sites {
            id: r.id,
            level: match r.level {
                Level::Must => "MUST",
                Level::Should => "SHOULD",
                Level::May => "MAY",
            },
            role: match r.role {
                Role::Server => "server",
                Role::Client => "client",
                Role::Both => "both",
                Role::Documentation => "documentation",
            },
            title: r.title,
            harness: harness_ids.contains(&r.id),
            ..Sites::default()
        })
        .collect();
    let mut paths = Vec::new();
    for dir in ROOTS {
        files(&root.join(dir), &mut paths);
    }
    paths.sort();
    for path in paths {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let relative = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let in_tests_dir = relative.contains("/tests/") || relative.ends_with(".feature");
        let mut in_test_module = false;
        for (n, line) in text.lines().enumerate() {
            if line.contains("#[cfg(test)]") {
                in_test_module = true;
            }
            for id in cited_ids(line) {
                if let Some(s) = index.get(id).map(|&i| &mut sites[i]) {
                    let site = format!("{relative}:{}", n + 1);
                    if in_tests_dir || in_test_module {
                        s.tests.push(site);
                    } else {
                        s.code.push(site);
                    }
                }
            }
        }
    }
    if let Ok(corpus) = std::fs::read_to_string(root.join("conformance/traces/traces.jsonl")) {
        for line in corpus.lines() {
            let Ok(trace) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            for id in trace["requirements"].as_array().into_iter().flatten() {
                if let Some(s) = id
                    .as_str()
                    .and_then(|id| index.get(id))
                    .map(|&i| &mut sites[i])
                {
                    s.traces += 1;
                }
            }
        }
    }
    sites
}

/// The requirements whose absence of checks fails the command: MUST
/// requirements of servers and of both classes. Client requirements are
/// listed but wait for the client's browser suite.
pub fn unchecked_musts(sites: &[Sites]) -> Vec<&'static str> {
    sites
        .iter()
        .filter(|s| s.level == "MUST" && matches!(s.role, "server" | "both") && !s.checked())
        .map(|s| s.id)
        .collect()
}

/// One line per requirement.
pub fn table(sites: &[Sites]) -> String {
    let mut out = String::new();
    for s in sites {
        out.push_str(&format!(
            "{:<13} {:<6} {:<13} code {:>3}  tests {:>3}  traces {:>4}  harness {:<3}  {}\n",
            s.id,
            s.level,
            s.role,
            s.code.len(),
            s.tests.len(),
            s.traces,
            if s.harness { "yes" } else { "no" },
            if s.checked() { "" } else { "UNCHECKED" }
        ));
    }
    out
}
