//! Keeps the requirement registry identical to `spec/std-1.md`, and every
//! citation in this crate pointing at a real requirement.

use std::path::{Path, PathBuf};

use stelgano_spec::requirements::{self, Level, REQUIREMENTS};

const SPEC: &str = include_str!("../std-1.md");

/// A requirement as the text defines it: a paragraph that starts with
/// `**STD1-AREA-n** *(LEVEL)*`.
struct Definition<'a> {
    id: &'a str,
    level: &'a str,
    paragraph: &'a str,
}

fn definitions() -> Vec<Definition<'static>> {
    SPEC.split("\n\n")
        .filter_map(|para| {
            let para = para.trim_start_matches('\n');
            let rest = para.strip_prefix("**")?;
            let (id, rest) = rest.split_once("** *(")?;
            let (level, _) = rest.split_once(")*")?;
            id.starts_with("STD1-").then_some(Definition {
                id,
                level,
                paragraph: para,
            })
        })
        .collect()
}

#[test]
fn every_requirement_of_the_text_is_registered_once_in_order() {
    let defined: Vec<&str> = definitions().iter().map(|d| d.id).collect();
    let registered: Vec<&str> = REQUIREMENTS.iter().map(|r| r.id).collect();
    assert_eq!(defined, registered, "registry and std-1.md disagree");
    let mut unique = registered.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(
        unique.len(),
        registered.len(),
        "an identifier is defined twice"
    );
}

#[test]
fn levels_match_the_text_and_the_strongest_keyword() {
    let mut problems = Vec::new();
    for def in definitions() {
        let req = requirements::find(def.id).expect("registered");
        assert_eq!(
            req.level.keyword(),
            def.level,
            "{}: level tag differs from registry",
            def.id
        );
        let body = def.paragraph.split_once(")*").map_or("", |(_, b)| b);
        match [Level::Must, Level::Should, Level::May]
            .into_iter()
            .find(|l| body.contains(l.keyword()))
        {
            None => problems.push(format!("{}: no RFC 2119 key word in the text", def.id)),
            Some(strongest) if strongest != req.level => problems.push(format!(
                "{}: tagged {} but its strongest key word is {}",
                def.id,
                def.level,
                strongest.keyword()
            )),
            Some(_) => {}
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn identifiers_are_numbered_from_one_without_gaps_per_area() {
    for area in requirements::AREAS {
        let numbers: Vec<u32> = REQUIREMENTS
            .iter()
            .filter(|r| r.area() == area)
            .map(|r| {
                r.id.rsplit('-')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("numeric suffix")
            })
            .collect();
        let expected: Vec<u32> = (1..=u32::try_from(numbers.len()).expect("small")).collect();
        let mut sorted = numbers.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, expected, "area {area} has gaps or repeats");
    }
    assert!(
        REQUIREMENTS
            .iter()
            .all(|r| requirements::AREAS.contains(&r.area()))
    );
}

#[test]
fn every_citation_in_the_text_exists() {
    assert_eq!(requirements::unknown_citations(SPEC), Vec::<&str>::new());
}

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e == "rs" || e == "json" || e == "snap")
        {
            out.push(path);
        }
    }
}

#[test]
fn every_citation_in_this_crate_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches", "vectors"] {
        source_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 10, "source scan found too little: {files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable source");
        let unknown = requirements::unknown_citations(&text);
        assert!(
            unknown.is_empty(),
            "{} cites unknown requirements {unknown:?}",
            file.display()
        );
    }
}

#[test]
fn requirement_count_is_at_least_seventy() {
    assert!(REQUIREMENTS.len() >= 70, "{}", REQUIREMENTS.len());
}
