//! The spec's vectors recomputed by the client's own module (`/js/std1.js`)
//! in the browser's Web Crypto, and compared with what the Rust spec crate
//! computes: the committed vectors, and fresh random cases derived here at
//! run time (STD1-CLI-1: derivations happen in the browser, with Web
//! Crypto, and must agree byte for byte with every other implementation).

use std::time::{Duration, Instant};

use fantoccini::Client;
use serde_json::{Value, json};
use stelgano_spec::derive::{PartyHashes, Pin, enc_key};
use stelgano_spec::ids::RoomId;

use crate::fixtures;
use crate::report::{CheckResult, Verdict};

const DERIVATION: &str = include_str!("../../../spec/vectors/derivation.json");
const ENCRYPTION: &str = include_str!("../../../spec/vectors/encryption.json");
const PAIRING: &str = include_str!("../../../spec/vectors/pairing.json");

/// Random cases derived by both sides on every run.
const DIFFERENTIAL_CASES: usize = 6;

/// Runs in the page: imports the client's module and computes, for every
/// vector, what the client makes of its inputs. Comparison happens in Rust.
const SCRIPT: &str = r#"
const done = arguments[arguments.length - 1];
const [derivation, encryption, pairing, random] = arguments;
(async () => {
  const m = await import('/js/std1.js');
  const out = { phones: [], pins: [], tests: [], encryption: [], generation: [], typed: [], random: [] };
  for (const v of derivation.phones) out.phones.push(m.normalisePhone(v.input));
  for (const v of derivation.pins) out.pins.push(m.normalisePin(v.input));
  const hashes = async (phone, pin, roomId) => {
    const room_hash = await m.roomHash(phone);
    const access_hash = await m.accessHash(phone, pin);
    const sender_hash = await m.senderHash(phone, access_hash, room_hash);
    const enc_key = await m.encKeyHex(phone, roomId);
    return { phone, pin, room_hash, access_hash, sender_hash, enc_key };
  };
  for (const t of derivation.tests) {
    const phone = m.normalisePhone(t.phone_input).normalised;
    const pin = m.normalisePin(t.pin_input).normalised;
    out.tests.push(await hashes(phone, pin, t.room_id));
  }
  for (const t of encryption.tests) {
    let ciphertext = null, plaintext = null;
    if (t.plaintext !== null) {
      try { ciphertext = await m.encrypt(t.key, t.iv, t.plaintext); } catch (e) {}
    }
    try { plaintext = await m.decrypt(t.key, t.iv, t.ciphertext); } catch (e) {}
    out.encryption.push({ ciphertext, plaintext });
  }
  const bytes = (hex) => new Uint8Array(hex.match(/../g).map((b) => parseInt(b, 16)));
  for (const g of pairing.generation) {
    const made = m.pairingCodeFromBytes(bytes(g.random_bytes));
    out.generation.push({ code: made.code, display: made.display, pairing_hash: await m.pairingHash(made.code) });
  }
  for (const t of pairing.typed) {
    const parsed = m.parsePairingCode(t.input);
    const pairing_hash = parsed.code === null ? null : await m.pairingHash(parsed.code);
    out.typed.push({ code: parsed.code, error: parsed.error, pairing_hash });
  }
  for (const r of random) {
    const h = await hashes(r.phone, r.pin, r.room_id);
    h.ciphertext = await m.encrypt(h.enc_key, r.iv, r.plaintext);
    out.random.push(h);
  }
  done({ ok: out });
})().catch((e) => done({ error: String((e && e.stack) || e) }));
"#;

/// One random case, as the Rust spec crate derives it.
struct RandomCase {
    input: Value,
    expected: Value,
}

fn random_case() -> Result<RandomCase, String> {
    let phone = fixtures::steg_number()?;
    let mut letters = [0_u8; 8];
    getrandom::fill(&mut letters).map_err(|e| e.to_string())?;
    let pin_text: String = letters.iter().map(|b| char::from(b'a' + b % 26)).collect();
    let pin = Pin::parse(&pin_text).map_err(|e| e.to_string())?;
    let room_id = RoomId::random().map_err(|e| e.to_string())?;
    let (plaintext_bytes, iv) = fixtures::payload()?;
    let plaintext = stelgano_spec::b64::encode(plaintext_bytes.as_bytes());
    let hashes = PartyHashes::derive(&phone, &pin);
    let key = enc_key(&phone, &room_id);
    let sealed = stelgano_spec::crypto::seal_with_iv(&key, *iv.as_bytes(), &plaintext)
        .map_err(|e| e.to_string())?;
    Ok(RandomCase {
        input: json!({
            "phone": phone.digits(),
            "pin": pin.as_str(),
            "room_id": room_id.to_string(),
            "iv": iv.to_base64(),
            "plaintext": plaintext,
        }),
        expected: json!({
            "phone": phone.digits(),
            "pin": pin.as_str(),
            "room_hash": hashes.room_hash.to_hex(),
            "access_hash": hashes.access_hash.to_hex(),
            "sender_hash": hashes.sender_hash.to_hex(),
            "enc_key": hex(key.as_bytes()),
            "ciphertext": stelgano_spec::b64::encode(&sealed.ciphertext),
        }),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs the vectors in `client`, whose page must be the target's client
/// (any screen). One check per vector file, and one for the random cases.
pub async fn run(client: &Client) -> Vec<CheckResult> {
    let started = Instant::now();
    let parsed: Result<[Value; 3], String> = [DERIVATION, ENCRYPTION, PAIRING]
        .map(serde_json::from_str::<Value>)
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
        .and_then(|v| v.try_into().map_err(|_| "three files".to_owned()));
    let cases: Result<Vec<RandomCase>, String> =
        (0..DIFFERENTIAL_CASES).map(|_| random_case()).collect();
    let outcome = match (parsed, cases) {
        (Ok(files), Ok(cases)) => compute(client, &files, &cases)
            .await
            .map(|computed| compare(&files, &cases, &computed)),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    let took = started.elapsed();
    let names = [
        ("vectors-derivation", requirement_list(DERIVATION)),
        ("vectors-encryption", requirement_list(ENCRYPTION)),
        ("vectors-pairing", requirement_list(PAIRING)),
        (
            "vectors-random",
            vec![
                "STD1-DRV-4",
                "STD1-DRV-5",
                "STD1-DRV-6",
                "STD1-DRV-7",
                "STD1-ENC-1",
            ]
            .into_iter()
            .map(str::to_owned)
            .collect(),
        ),
    ];
    names
        .into_iter()
        .enumerate()
        .map(|(i, (name, mut requirements))| {
            requirements.push("STD1-CLI-1".into());
            let verdict = match &outcome {
                Err(e) => Verdict::Fail(format!("the client's module could not be run: {e}")),
                Ok(mismatches) => match mismatches[i].as_slice() {
                    [] => Verdict::Pass,
                    some => Verdict::Fail(format!("{} mismatches, first: {}", some.len(), some[0])),
                },
            };
            CheckResult::new("browser", name, requirements, verdict, took)
        })
        .collect()
}

/// The requirements the vector checks name.
pub fn requirements() -> Vec<&'static str> {
    let mut ids = vec![
        "STD1-DRV-4",
        "STD1-DRV-5",
        "STD1-DRV-6",
        "STD1-DRV-7",
        "STD1-ENC-1",
    ];
    for file in [DERIVATION, ENCRYPTION, PAIRING] {
        for id in requirement_list(file) {
            if let Some(r) = stelgano_spec::requirements::find(&id) {
                ids.push(r.id);
            }
        }
    }
    ids
}

fn requirement_list(file: &str) -> Vec<String> {
    serde_json::from_str::<Value>(file)
        .ok()
        .and_then(|v| {
            v["requirements"].as_array().map(|ids| {
                ids.iter()
                    .filter_map(|id| id.as_str().map(str::to_owned))
                    .collect()
            })
        })
        .unwrap_or_default()
}

async fn compute(
    client: &Client,
    files: &[Value; 3],
    cases: &[RandomCase],
) -> Result<Value, String> {
    // 26 PBKDF2 derivations at 600,000 iterations take a while.
    client
        .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
            Some(Duration::from_secs(180)),
            None,
            None,
        ))
        .await
        .map_err(|e| e.to_string())?;
    let random: Vec<Value> = cases.iter().map(|c| c.input.clone()).collect();
    let result = client
        .execute_async(
            SCRIPT,
            vec![
                files[0].clone(),
                files[1].clone(),
                files[2].clone(),
                Value::Array(random),
            ],
        )
        .await
        .map_err(|e| e.to_string())?;
    match (&result["ok"], &result["error"]) {
        (ok, _) if ok.is_object() => Ok(ok.clone()),
        (_, Value::String(e)) => Err(e.clone()),
        _ => Err(format!("unexpected result {result}")),
    }
}

/// Mismatches per check, in the order of [`run`]'s names.
fn compare(files: &[Value; 3], cases: &[RandomCase], computed: &Value) -> Vec<Vec<String>> {
    let [derivation, encryption, pairing] = files;
    let mut out = vec![Vec::new(); 4];
    let list = |v: &Value| v.as_array().cloned().unwrap_or_default();

    for (v, got) in list(&derivation["phones"])
        .iter()
        .zip(list(&computed["phones"]))
    {
        expect(&mut out[0], v, &got, "normalised", "normalised");
        expect(&mut out[0], v, &got, "error", "error");
    }
    for (v, got) in list(&derivation["pins"])
        .iter()
        .zip(list(&computed["pins"]))
    {
        expect(&mut out[0], v, &got, "normalised", "normalised");
        expect(&mut out[0], v, &got, "error", "error");
    }
    for (v, got) in list(&derivation["tests"])
        .iter()
        .zip(list(&computed["tests"]))
    {
        for field in [
            "phone",
            "pin",
            "room_hash",
            "access_hash",
            "sender_hash",
            "enc_key",
        ] {
            expect(&mut out[0], v, &got, field, field);
        }
    }
    count(
        &mut out[0],
        &derivation["phones"],
        &computed["phones"],
        "phones",
    );
    count(
        &mut out[0],
        &derivation["tests"],
        &computed["tests"],
        "tests",
    );

    for (v, got) in list(&encryption["tests"])
        .iter()
        .zip(list(&computed["encryption"]))
    {
        if v["result"] == "valid" {
            expect(&mut out[1], v, &got, "ciphertext", "ciphertext");
            expect(&mut out[1], v, &got, "plaintext", "plaintext");
        } else if !got["plaintext"].is_null() {
            out[1].push(format!(
                "tcId {}: decryption of an invalid ciphertext succeeded",
                v["tcId"]
            ));
        }
    }
    count(
        &mut out[1],
        &encryption["tests"],
        &computed["encryption"],
        "tests",
    );

    for (v, got) in list(&pairing["generation"])
        .iter()
        .zip(list(&computed["generation"]))
    {
        for field in ["code", "display", "pairing_hash"] {
            expect(&mut out[2], v, &got, field, field);
        }
    }
    for (v, got) in list(&pairing["typed"]).iter().zip(list(&computed["typed"])) {
        for field in ["code", "error", "pairing_hash"] {
            expect(&mut out[2], v, &got, field, field);
        }
    }
    count(&mut out[2], &pairing["typed"], &computed["typed"], "typed");

    for (case, got) in cases.iter().zip(list(&computed["random"])) {
        for field in [
            "room_hash",
            "access_hash",
            "sender_hash",
            "enc_key",
            "ciphertext",
        ] {
            if case.expected[field] != got[field] {
                out[3].push(format!(
                    "phone {} PIN {}: {field} is {} in the browser, {} in Rust",
                    case.expected["phone"], case.expected["pin"], got[field], case.expected[field]
                ));
            }
        }
    }
    if list(&computed["random"]).len() != cases.len() {
        out[3].push("the browser computed fewer random cases than asked".into());
    }
    out
}

fn expect(out: &mut Vec<String>, vector: &Value, got: &Value, want: &str, field: &str) {
    if vector[want] != got[field] {
        out.push(format!(
            "tcId {}: {field} is {} in the browser, {} in the vector",
            vector["tcId"], got[field], vector[want]
        ));
    }
}

fn count(out: &mut Vec<String>, vectors: &Value, computed: &Value, what: &str) {
    let (want, got) = (
        vectors.as_array().map_or(0, Vec::len),
        computed.as_array().map_or(0, Vec::len),
    );
    if want != got {
        out.push(format!("{got} of {want} {what} computed"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a client that agrees with every vector computes.
    fn agreeing(files: &[Value; 3]) -> Value {
        let [derivation, encryption, pairing] = files;
        let pick = |list: &Value, fields: &[&str]| -> Value {
            Value::Array(
                list.as_array()
                    .into_iter()
                    .flatten()
                    .map(|v| {
                        Value::Object(
                            fields
                                .iter()
                                .map(|f| ((*f).to_owned(), v[*f].clone()))
                                .collect(),
                        )
                    })
                    .collect(),
            )
        };
        json!({
            "phones": pick(&derivation["phones"], &["normalised", "error"]),
            "pins": pick(&derivation["pins"], &["normalised", "error"]),
            "tests": pick(&derivation["tests"], &["phone", "pin", "room_hash", "access_hash", "sender_hash", "enc_key"]),
            "encryption": pick(&encryption["tests"], &["ciphertext", "plaintext"]),
            "generation": pick(&pairing["generation"], &["code", "display", "pairing_hash"]),
            "typed": pick(&pairing["typed"], &["code", "error", "pairing_hash"]),
            "random": [],
        })
    }

    fn files() -> [Value; 3] {
        [DERIVATION, ENCRYPTION, PAIRING].map(|f| serde_json::from_str(f).expect("vector JSON"))
    }

    #[test]
    fn agreement_passes_and_one_wrong_byte_fails() {
        let files = files();
        let mut computed = agreeing(&files);
        // Invalid ciphertexts must not decrypt: the agreeing client got null.
        let mismatches = compare(&files, &[], &computed);
        assert!(mismatches.iter().all(Vec::is_empty), "{mismatches:?}");

        computed["tests"][0]["enc_key"] = Value::from("00");
        computed["typed"][0]["code"] = Value::Null;
        let mismatches = compare(&files, &[], &computed);
        assert_eq!(mismatches[0].len(), 1, "{mismatches:?}");
        assert_eq!(mismatches[2].len(), 1, "{mismatches:?}");
    }

    #[test]
    fn a_missing_answer_is_a_mismatch() {
        let files = files();
        let mut computed = agreeing(&files);
        computed["tests"].as_array_mut().expect("array").pop();
        assert!(!compare(&files, &[], &computed)[0].is_empty());
    }
}
