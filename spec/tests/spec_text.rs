//! The parts of `spec/std-1.md` that are data (tables and lists) must say
//! exactly what the crate implements. A change to one without the other
//! fails here.

use serde_json::Value;
use stelgano_spec::constants::*;
use stelgano_spec::digits::{DECIMAL_DIGIT_ZEROS, UNICODE_VERSION};
use stelgano_spec::reason::{ErrorDetail, ErrorReason};
use stelgano_spec::wire::{Broadcast, EventName};

const SPEC: &str = include_str!("../std-1.md");

/// The text from `heading` up to the next heading of any level.
fn section(heading: &str) -> &'static str {
    let start = SPEC
        .find(heading)
        .unwrap_or_else(|| panic!("heading {heading:?} in std-1.md"));
    let body = &SPEC[start + heading.len()..];
    let end = body.find("\n#").map_or(body.len(), |i| i + 1);
    &body[..end]
}

/// The cells of the markdown table rows in `text` (header and rule rows skipped).
fn table_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| l.starts_with('|'))
        .map(|l| {
            l.trim()
                .trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .skip(2)
        .collect()
}

fn unquote(cell: &str) -> &str {
    cell.trim_matches('`')
}

#[test]
fn appendix_b_lists_the_crate_digit_table() {
    // STD1-DRV-1
    let appendix = section("## Appendix B. Decimal digit table (normative)");
    assert!(appendix.contains(&format!("Unicode {UNICODE_VERSION}")));
    let zeros: Vec<u32> = table_rows(appendix)
        .iter()
        .map(|row| {
            let first = row[0].trim_start_matches("U+");
            let last = row[1].trim_start_matches("U+");
            let (first, last) = (
                u32::from_str_radix(first, 16).expect("hex"),
                u32::from_str_radix(last, 16).expect("hex"),
            );
            assert_eq!(last, first + 9, "a run is ten code points: {row:?}");
            first
        })
        .collect();
    assert_eq!(zeros, DECIMAL_DIGIT_ZEROS);
}

#[test]
fn error_catalogue_matches_the_reason_enum() {
    // STD1-WIRE-27, STD1-WIRE-28
    let rows = table_rows(section("#### The error-reason catalogue"));
    let names: Vec<&str> = rows.iter().map(|r| unquote(&r[0])).collect();
    let expected: Vec<&str> = ErrorReason::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(names, expected);
    for (row, reason) in rows.iter().zip(ErrorReason::ALL) {
        let extra = match reason.detail() {
            ErrorDetail::None => "—",
            ErrorDetail::AttemptsRemaining => "`attempts_remaining`",
            ErrorDetail::RetryAfter => "`retry_after`",
        };
        assert_eq!(row[1], extra, "extra member of {reason}");
    }
}

#[test]
fn event_list_and_tables_match_the_decoder() {
    // STD1-WIRE-13
    let rule = SPEC
        .split("**STD1-WIRE-13**")
        .nth(1)
        .and_then(|t| t.split("\n\n").next())
        .expect("STD1-WIRE-13");
    // The quoted words of the rule, less `event` itself and the reason it names.
    let listed: Vec<&str> = rule
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| !matches!(*w, "event" | "unknown_event"))
        .collect();
    let expected: Vec<&str> = EventName::ALL.iter().map(|e| e.as_str()).collect();
    assert_eq!(listed, expected);
    let events = section("### 7.4 Client events");
    for event in EventName::ALL {
        assert!(
            events.contains(&format!("**`{}`**", event.as_str())),
            "no table for {}",
            event.as_str()
        );
    }
}

/// Field tables of §7.4: event → [(field, required)].
fn field_tables() -> Vec<(String, Vec<(String, bool)>)> {
    let events = section("### 7.4 Client events");
    let mut tables = Vec::new();
    for block in events.split("**`").skip(1) {
        let name = block.split('`').next().unwrap_or_default().to_owned();
        let fields = table_rows(block.split("\n\n**").next().unwrap_or(block))
            .into_iter()
            .map(|row| (unquote(&row[0]).to_owned(), row[2] == "yes"))
            .collect();
        tables.push((name, fields));
    }
    tables
}

#[test]
fn field_tables_match_the_frame_vectors() {
    // STD1-WIRE-14: the tables, the vectors and the decoder list the same
    // fields in the same checking order, with the same optional ones.
    let vectors: Value =
        serde_json::from_str(include_str!("../vectors/frames.json")).expect("frames.json is JSON");
    let valid = vectors["valid"].as_array().expect("valid cases");
    for (event, fields) in field_tables() {
        if fields.is_empty() {
            continue; // typing and expire_room share a sentence, not a table
        }
        let every = valid
            .iter()
            .find(|c| c["comment"] == format!("{event}: every field").as_str())
            .unwrap_or_else(|| panic!("vector '{event}: every field'"));
        let frame: Value =
            serde_json::from_str(every["frame"].as_str().expect("frame")).expect("frame JSON");
        let members: Vec<&String> = frame["data"].as_object().expect("data").keys().collect();
        let names: Vec<&String> = fields.iter().map(|(n, _)| n).collect();
        assert_eq!(
            members, names,
            "{event}: vector data members differ from the spec table"
        );
        for (field, required) in &fields {
            let optional_case = valid
                .iter()
                .any(|c| c["comment"] == format!("{event}: without optional {field}").as_str());
            assert_eq!(
                optional_case, !required,
                "{event}.{field}: optional in the table iff a vector omits it"
            );
        }
    }
}

#[test]
fn broadcast_table_matches_the_broadcast_enum() {
    // STD1-WIRE-29
    let rule = SPEC.split("**STD1-WIRE-29**").nth(1).expect("STD1-WIRE-29");
    let table = rule.split("\n\n").nth(1).expect("broadcast table");
    let rows = table_rows(table);
    let names: Vec<&str> = rows.iter().map(|r| unquote(&r[0])).collect();
    assert_eq!(names, Broadcast::NAMES);
}

#[test]
fn appendix_a_states_the_crate_constants() {
    let appendix = section("## Appendix A. Constants");
    let row = |name: &str| {
        table_rows(appendix)
            .into_iter()
            .find(|r| r[0] == name)
            .unwrap_or_else(|| panic!("constant {name} in Appendix A"))[1]
            .clone()
    };
    assert_eq!(row("`ROOM_SALT`"), format!("`{ROOM_SALT}`"));
    assert_eq!(row("`ACCESS_SALT`"), format!("`{ACCESS_SALT}`"));
    assert_eq!(row("`SENDER_SALT`"), format!("`{SENDER_SALT}`"));
    assert_eq!(row("`ENC_SALT`"), format!("`{ENC_SALT}`"));
    assert_eq!(row("PBKDF2 iterations"), PBKDF2_ITERATIONS.to_string());
    assert_eq!(row("Key length"), format!("{ENC_KEY_BYTES} bytes"));
    assert_eq!(row("IV length"), format!("{IV_BYTES} bytes"));
    assert_eq!(row("Tag length"), format!("{TAG_BYTES} bytes"));
    assert_eq!(
        row("Ciphertext (decoded, tag included)"),
        format!("{MIN_CIPHERTEXT_BYTES} to {MAX_CIPHERTEXT_BYTES} bytes")
    );
    // STD1-CLI-17: one limit, in the unit the ciphertext cap counts.
    assert_eq!(
        row("Plaintext"),
        format!("at most {MAX_PLAINTEXT_BYTES} UTF-8 bytes")
    );
    assert_eq!(
        row("Steg number"),
        format!("{MIN_PHONE_DIGITS} to {MAX_PHONE_DIGITS} digits, not starting with 0")
    );
    assert_eq!(
        row("PIN"),
        format!("{MIN_PIN_CHARS} to {MAX_PIN_CHARS} Unicode scalar values")
    );
    assert_eq!(row("Pairing alphabet"), format!("`{PAIRING_ALPHABET}`"));
    assert!(row("Pairing code length").starts_with(&format!("{PAIRING_CODE_LEN} symbols")));
    assert_eq!(row("WebSocket path"), format!("`{WS_PATH}`"));
    assert_eq!(row("Subprotocol"), format!("`{WS_SUBPROTOCOL}`"));
    assert_eq!(
        row("Largest text message"),
        format!("{MAX_FRAME_BYTES} bytes")
    );
    assert!(row("`ref`").starts_with(&format!("1 to {MAX_REF_CHARS} characters")));
    assert_eq!(row("Failures before a lock"), LOCKOUT_ATTEMPTS.to_string());
    assert_eq!(
        row("Lock duration"),
        format!("{} minutes", LOCKOUT_DURATION.as_secs() / 60)
    );
    assert!(row("Time floor `F`").starts_with(&format!(
        "default {} ms, at least {} ms",
        DEFAULT_JOIN_TIME_FLOOR.as_millis(),
        MIN_PRODUCTION_JOIN_TIME_FLOOR.as_millis()
    )));
    assert_eq!(
        row("Room lifetime"),
        format!(
            "default {} days, at most {} days",
            DEFAULT_ROOM_TTL.as_secs() / 86400,
            MAX_ROOM_TTL.as_secs() / 86400
        )
    );
    assert_eq!(
        row("Expiry lag"),
        format!("at most {} seconds", MAX_EXPIRY_LAG.as_secs())
    );
    assert_eq!(
        row("Ping after silence"),
        format!(
            "{} seconds; close after {} seconds",
            PING_INTERVAL.as_secs(),
            IDLE_TIMEOUT.as_secs()
        )
    );
    assert_eq!(
        row("Join deadline"),
        format!("{} seconds", JOIN_DEADLINE.as_secs())
    );
    assert_eq!(
        row("Local unlock attempts"),
        LOCAL_UNLOCK_ATTEMPTS.to_string()
    );
    assert!(row("Read receipt").contains(&format!("{} ms", READ_RECEIPT_DWELL.as_millis())));
    assert!(row("Auto-lock").contains(&format!("{} minutes", AUTO_LOCK_AFTER.as_secs() / 60)));
    assert!(row("TTL warning").contains(&format!("{} hours", TTL_WARNING.as_secs() / 3600)));
}
