//! The committed vector files: current, schema-valid, and true of the
//! reference implementation when read back as data, the way another
//! implementation would consume them.

use std::path::{Path, PathBuf};

use jsonschema::{Retrieve, Uri};
use serde_json::Value;
use stelgano_spec::b64;
use stelgano_spec::crypto::{Sealed, open, seal_with_iv};
use stelgano_spec::derive::{EncKey, PartyHashes, Phone, Pin, enc_key};
use stelgano_spec::ids::RoomId;
use stelgano_spec::normalise::{normalise_phone, normalise_pin, validate_phone, validate_pin};
use stelgano_spec::pairing::PairingCode;
use stelgano_spec::wire::decode_client_frame;

fn vector_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(vector_dir().join(name)).expect("vector file is committed");
    serde_json::from_str(&text).expect("vector file is JSON")
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is a string in {v}"))
}

fn array<'a>(v: &'a Value, key: &str) -> &'a Vec<Value> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} is an array"))
}

/// The vector files, as the generator names them in each file's `schema`.
const FILES: [&str; 4] = [
    "derivation.json",
    "encryption.json",
    "pairing.json",
    "frames.json",
];

#[test]
fn committed_vectors_match_regeneration() {
    // The generator is this package's `stelgano-vectors` binary; `--check`
    // compares what it would write with the committed files.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_stelgano-vectors"))
        .arg("--check")
        .output()
        .expect("the generator runs");
    assert!(
        output.status.success(),
        "spec/vectors is stale: run `cargo run -p stelgano-spec --bin stelgano-vectors` and commit the result\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_vector_directory_holds_exactly_the_generated_files() {
    let mut found: Vec<String> = std::fs::read_dir(vector_dir())
        .expect("spec/vectors exists")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    found.sort();
    let mut expected: Vec<String> = FILES.iter().map(|f| (*f).to_owned()).collect();
    expected.sort();
    assert_eq!(found, expected);
}

/// Resolves the schemas' `$ref`s to files of `spec/vectors/schema/`, offline.
struct SchemaDir;

impl Retrieve for SchemaDir {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri.as_str().rsplit('/').next().unwrap_or_default();
        let text = std::fs::read_to_string(vector_dir().join("schema").join(name))?;
        Ok(serde_json::from_str(&text)?)
    }
}

fn validator(schema_name: &str) -> jsonschema::Validator {
    let schema = load(&format!("schema/{schema_name}"));
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .with_retriever(SchemaDir)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{schema_name} is a valid schema: {e}"))
}

#[test]
fn every_vector_file_matches_its_schema() {
    for name in FILES {
        let content = load(name);
        let schema_name = str_of(&content, "schema")
            .trim_start_matches("schema/")
            .to_owned();
        let v = validator(&schema_name);
        let errors: Vec<String> = v
            .iter_errors(&content)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .take(5)
            .collect();
        assert!(
            errors.is_empty(),
            "{name} violates {schema_name}: {errors:#?}"
        );
        let counted: usize = [
            "phones",
            "pins",
            "tests",
            "generation",
            "typed",
            "valid",
            "invalid",
            "server",
        ]
        .iter()
        .filter_map(|k| content[*k].as_array())
        .map(Vec::len)
        .sum();
        assert_eq!(
            content["numberOfTests"].as_u64(),
            Some(counted as u64),
            "{name} numberOfTests"
        );
    }
}

#[test]
fn schemas_reject_broken_vectors() {
    let mut derivation = load("derivation.json");
    derivation["tests"][0]["room_hash"] = Value::from("ABC");
    assert!(!validator("derivation.schema.json").is_valid(&derivation));

    let mut frames = load("frames.json");
    frames["invalid"][0]["reason"] = Value::from("not_a_reason");
    assert!(!validator("frames.schema.json").is_valid(&frames));

    let mut pairing = load("pairing.json");
    pairing["typed"][0]["surprise"] = Value::from(1);
    assert!(!validator("pairing.schema.json").is_valid(&pairing));

    let mut encryption = load("encryption.json");
    encryption["extra"] = Value::from(1);
    assert!(!validator("encryption.schema.json").is_valid(&encryption));
}

/// Replays normalisation vectors through one normalise/validate pair.
fn check_normalisation(
    cases: &[Value],
    normalise: fn(&str) -> String,
    validate: fn(&str) -> Result<(), stelgano_spec::normalise::InputError>,
) {
    for case in cases {
        let normalised = normalise(str_of(case, "input"));
        assert_eq!(
            normalised,
            str_of(case, "normalised"),
            "{}",
            case["comment"]
        );
        assert_eq!(
            validate(&normalised).is_ok(),
            case["result"] == "valid",
            "{}",
            case["comment"]
        );
    }
}

#[test]
fn derivation_vectors_hold() {
    // STD1-DRV-1 .. STD1-DRV-8
    let file = load("derivation.json");
    check_normalisation(array(&file, "phones"), normalise_phone, validate_phone);
    check_normalisation(array(&file, "pins"), normalise_pin, validate_pin);
    let tests = array(&file, "tests");
    assert!(tests.len() >= 25, "at least 25 derivation cases");
    for case in tests {
        let phone = Phone::parse(str_of(case, "phone_input")).expect("valid phone");
        let pin = Pin::parse(str_of(case, "pin_input")).expect("valid PIN");
        assert_eq!(phone.digits(), str_of(case, "phone"));
        assert_eq!(pin.as_str(), str_of(case, "pin"));
        let ids = PartyHashes::derive(&phone, &pin);
        assert_eq!(
            ids.room_hash.to_hex(),
            str_of(case, "room_hash"),
            "{}",
            case["comment"]
        );
        assert_eq!(
            ids.access_hash.to_hex(),
            str_of(case, "access_hash"),
            "{}",
            case["comment"]
        );
        assert_eq!(
            ids.sender_hash.to_hex(),
            str_of(case, "sender_hash"),
            "{}",
            case["comment"]
        );
        let room_id: RoomId = str_of(case, "room_id").parse().expect("uuid");
        assert_eq!(
            hex::encode(enc_key(&phone, &room_id).as_bytes()),
            str_of(case, "enc_key"),
            "{}",
            case["comment"]
        );
    }
}

#[test]
fn derivation_vectors_keep_the_upstream_compatibility_values() {
    // The values published for the original std-1 clients (upstream facts §9.6).
    let file = load("derivation.json");
    let tests = array(&file, "tests");
    let find = |pin: &str| {
        tests
            .iter()
            .find(|t| {
                t["phone_input"] == "15550123456"
                    && t["pin_input"] == pin
                    && t["flags"][0] == "upstream"
            })
            .unwrap_or_else(|| panic!("upstream case with PIN {pin}"))
    };
    let a = find("1234");
    assert_eq!(
        str_of(a, "room_hash"),
        "183961933c251543088257984b33a7ce9dabc2be9b7a571bd93d727a920ff133"
    );
    assert_eq!(
        str_of(a, "access_hash"),
        "8f61a01d389dbc1081f2f662689e74f5b1a7a0bf54e51349c57520a0b98c89bf"
    );
    assert_eq!(
        str_of(a, "sender_hash"),
        "1ce37b2a69c126e32cf3b494e2fe5244dcdcac40f8d05ca7ec10543a63d9bcdd"
    );
    assert_eq!(
        str_of(a, "enc_key"),
        "93306d8367183dc50b146ada6ba20b554667ed8af0658af40a491ce774048863"
    );
    let b = find("9999");
    assert_eq!(
        str_of(b, "access_hash"),
        "3d3370ffc95c416cc3f2a01457d96920d11382c96d8a2e9315603655ff197f56"
    );
    assert_eq!(
        str_of(b, "sender_hash"),
        "398decd0b70729d5c022224b39a1344cd9de379c78e03ee55db18eb10567ca7a"
    );
    assert!(
        tests.iter().any(|t| t["room_hash"]
            == "162b5e7c5d3cccac68c314dfd05a0fef1a1a2f9a0bfc0ba4e0fa039b3079dfde")
    );
}

#[test]
fn encryption_vectors_hold() {
    // STD1-ENC-1 .. STD1-ENC-4
    let file = load("encryption.json");
    for case in array(&file, "tests") {
        let key_bytes: [u8; 32] = hex::decode(str_of(case, "key"))
            .expect("hex")
            .try_into()
            .expect("32 bytes");
        let key = EncKey::from_bytes(key_bytes);
        let iv: [u8; 12] = b64::decode(str_of(case, "iv"))
            .expect("base64")
            .try_into()
            .expect("12 bytes");
        let ciphertext = b64::decode(str_of(case, "ciphertext")).expect("base64");
        let sealed = Sealed { iv, ciphertext };
        if case["result"] == "valid" {
            let plaintext = str_of(case, "plaintext");
            assert_eq!(
                seal_with_iv(&key, iv, plaintext).as_ref(),
                Ok(&sealed),
                "{}",
                case["comment"]
            );
            assert_eq!(
                open(&key, &sealed).as_deref(),
                Ok(plaintext),
                "{}",
                case["comment"]
            );
        } else {
            assert!(
                open(&key, &sealed).is_err(),
                "{} must fail",
                case["comment"]
            );
        }
    }
}

#[test]
fn pairing_vectors_hold() {
    // STD1-JOIN-10 .. STD1-JOIN-13
    let file = load("pairing.json");
    for case in array(&file, "generation") {
        let bytes: [u8; 8] = hex::decode(str_of(case, "random_bytes"))
            .expect("hex")
            .try_into()
            .expect("8 bytes");
        let code = PairingCode::from_random_bytes(bytes);
        assert_eq!(code.as_str(), str_of(case, "code"));
        assert_eq!(code.display(), str_of(case, "display"));
        assert_eq!(code.hash().to_hex(), str_of(case, "pairing_hash"));
    }
    for case in array(&file, "typed") {
        let parsed = PairingCode::parse(str_of(case, "input"));
        match case["result"].as_str() {
            Some("valid") => {
                let code = parsed.unwrap_or_else(|e| panic!("{}: {e}", case["comment"]));
                assert_eq!(code.as_str(), str_of(case, "code"));
                assert_eq!(code.hash().to_hex(), str_of(case, "pairing_hash"));
            }
            _ => assert!(parsed.is_err(), "{} must be refused", case["comment"]),
        }
    }
}

#[test]
fn frame_vectors_hold() {
    // STD1-WIRE-10 .. STD1-WIRE-19
    let file = load("frames.json");
    for case in array(&file, "valid") {
        let frame = decode_client_frame(str_of(case, "frame"))
            .unwrap_or_else(|e| panic!("{}: {e:?}", case["comment"]));
        assert_eq!(frame.event.name().as_str(), str_of(case, "event"));
        assert_eq!(frame.reference.as_str(), str_of(case, "ref"));
        assert_eq!(frame.to_json(), str_of(case, "canonical"));
        // The canonical form decodes to the same frame.
        assert_eq!(decode_client_frame(&frame.to_json()).as_ref(), Ok(&frame));
    }
    for case in array(&file, "invalid") {
        let err = decode_client_frame(str_of(case, "frame")).expect_err(str_of(case, "comment"));
        assert_eq!(
            err.reason.as_str(),
            str_of(case, "reason"),
            "{}",
            case["comment"]
        );
        assert_eq!(
            err.reference.as_ref().map(|r| r.as_str()),
            case["ref"].as_str(),
            "{}",
            case["comment"]
        );
        assert_eq!(
            err.event.map(|e| e.as_str()),
            case["event"].as_str(),
            "{}",
            case["comment"]
        );
        assert_eq!(
            err.event.is_some_and(|e| e.opens_session()),
            case["time_floored"] == true
        );
    }
    for case in array(&file, "server") {
        let text = str_of(case, "frame");
        let frame = stelgano_spec::wire::ServerFrame::from_json(text)
            .unwrap_or_else(|| panic!("{}", case["comment"]));
        assert_eq!(frame.to_json(), text);
    }
}

#[test]
fn an_independent_python_implementation_agrees() {
    // STD1-DRV-1 .. STD1-DRV-7, STD1-JOIN-10 .. STD1-JOIN-12: `vectors/check.py`
    // recomputes the vectors from the spec text with Python's standard
    // library, so a mistake shared by the generator and these tests shows up.
    let script = vector_dir().join("check.py");
    let output = match std::process::Command::new("python3")
        .arg(&script)
        .arg(vector_dir())
        .output()
    {
        Ok(output) => output,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped: python3 is not available here ({e}); CI runs this check");
            return;
        }
        Err(e) => panic!("python3 is required under CI: {e}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "check.py disagrees with the vectors:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout
            .lines()
            .last()
            .is_some_and(|l| l.ends_with(" passed, 0 failed")),
        "{stdout}"
    );
}
