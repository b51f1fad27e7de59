//! The committed conformance corpus is exactly what the model exports, is
//! valid against its schemas, and names only requirements that exist.

use std::path::{Path, PathBuf};

use stelgano_model::RoomModel;
use stelgano_model::trace::render;
use stelgano_spec::requirements::unknown_citations;

fn traces_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/traces")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(traces_dir().join(name))
        .unwrap_or_else(|e| panic!("{name}: {e} (run export-traces)"))
}

fn validator(name: &str) -> jsonschema::Validator {
    let schema: serde_json::Value =
        serde_json::from_str(&read(&format!("schema/{name}"))).expect("schema is JSON");
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn the_committed_corpus_is_a_fresh_export() {
    let (corpus, traces) = render(&RoomModel::standard());
    assert!(
        read("corpus.json") == corpus && read("traces.jsonl") == traces,
        "conformance/traces is stale: run `cargo run -p stelgano-model --release --bin export-traces`"
    );
}

#[test]
fn every_file_matches_its_schema() {
    let corpus: serde_json::Value = serde_json::from_str(&read("corpus.json")).expect("JSON");
    let errors: Vec<String> = validator("corpus.schema.json")
        .iter_errors(&corpus)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "corpus.json: {errors:?}");

    let trace_schema = validator("trace.schema.json");
    let mut lines = 0;
    for (n, line) in read("traces.jsonl").lines().enumerate() {
        let trace: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        let errors: Vec<String> = trace_schema
            .iter_errors(&trace)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .take(3)
            .collect();
        assert!(errors.is_empty(), "line {}: {errors:?}", n + 1);
        lines += 1;
    }
    assert_eq!(Some(lines), corpus["traces"].as_u64().map(|n| n as usize));
}

#[test]
fn every_named_requirement_exists() {
    // The corpus and the model's sources cite only registered requirements.
    let mut text = read("corpus.json");
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
        .expect("src")
        .flatten()
    {
        text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
    }
    assert_eq!(unknown_citations(&text), Vec::<&str>::new());
}

#[test]
fn the_corpus_covers_every_kind_of_step() {
    // Every request kind, race pairing and environment step appears, and
    // every answer the model can give to a request.
    let traces = read("traces.jsonl");
    for needle in [
        r#""op":"create""#,
        r#""op":"join""#,
        r#""op":"send_message""#,
        r#""op":"read_receipt""#,
        r#""op":"edit_message""#,
        r#""op":"delete_message""#,
        r#""op":"typing""#,
        r#""op":"expire_room""#,
        r#""op":"reset_pairing""#,
        r#""op":"reopen_pairing""#,
        r#""pin":"typo""#,
        r#""event":"room_locked""#,
        r#""replaced":["#,
        r#""race":"#,
        r#""kind":"ttl_expires""#,
        r#""kind":"lock_ends""#,
        r#""kind":"disconnect""#,
    ] {
        assert!(traces.contains(needle), "no step with {needle}");
    }
    for reason in [
        "room_exists",
        "not_found",
        "unauthorized",
        "locked",
        "pairing_invalid",
        "already_paired",
        "not_your_turn",
        "conflict",
        "not_author",
        "own_message",
        "already_read",
        "not_editable",
        "not_deletable",
        "room_expired",
        "not_joined",
    ] {
        assert!(
            traces.contains(&format!(r#""reason":"{reason}""#)),
            "no step answered {reason}"
        );
    }
}

#[test]
fn every_trace_reads_back_as_written() {
    // A replayer in Rust reads the corpus through the model's own types.
    for line in read("traces.jsonl").lines() {
        let trace: stelgano_model::trace::Trace =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(serde_json::to_string(&trace).expect("JSON"), line);
    }
}

#[test]
fn a_trace_of_format_2_reads_as_it_was_written() {
    // Format 3 only added what format 2 could not say: a join with the
    // party's own PIN leaves `pin` out, and an outcome without a replaced
    // record leaves `replaced` out.
    // Trace t00074 of the last format 2 corpus.
    let line = r#"{"id":"t00074","intruder_has_code":true,"shared_network":false,"requirements":["STD1-JOIN-1","STD1-JOIN-14","STD1-JOIN-15","STD1-JOIN-5","STD1-JOIN-8","STD1-LIFE-4","STD1-LIFE-6","STD1-LIFE-7","STD1-WIRE-30"],"steps":[{"request":{"party":"A","op":"create"},"expect":{"reply":{"reply":"joined","awaiting_party":true,"current_message":null}},"requirements":["STD1-JOIN-1","STD1-JOIN-8"]},{"request":{"party":"M","op":"join","code":"current"},"expect":{"reply":{"reply":"joined","awaiting_party":false,"current_message":null},"broadcasts":[{"to":"A","event":"party_paired"}]},"requirements":["STD1-JOIN-5","STD1-JOIN-8","STD1-JOIN-14","STD1-JOIN-15","STD1-WIRE-30"]},{"environment":{"kind":"ttl_expires"},"expect":{"broadcasts":[{"to":"A","event":"room_expired","cause":"ttl"},{"to":"M","event":"room_expired","cause":"ttl"}],"closed":["A","M"]},"requirements":["STD1-LIFE-4","STD1-LIFE-6","STD1-LIFE-7"]}]}"#;
    let trace: stelgano_model::trace::Trace = serde_json::from_str(line).expect("a format 2 trace");
    assert_eq!(serde_json::to_string(&trace).expect("JSON"), line);
}

#[test]
fn random_walks_are_reproducible_and_lawful() {
    use stelgano_model::trace::random_walk;
    let model = RoomModel::standard();
    for seed in 0..50 {
        let a = serde_json::to_string(&random_walk(&model, seed, 30)).expect("JSON");
        let b = serde_json::to_string(&random_walk(&model, seed, 30)).expect("JSON");
        assert_eq!(a, b, "seed {seed} walks the same path twice");
        assert!(!random_walk(&model, seed, 30).steps.is_empty());
    }
}
