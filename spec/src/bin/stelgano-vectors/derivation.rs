//! `derivation.json`: normalisation of numbers and PINs, and the four
//! derivations (STD1-DRV-1 to STD1-DRV-7).

use serde_json::{Value, json};

use stelgano_spec::derive::{PartyHashes, Phone, Pin, enc_key};
use stelgano_spec::ids::RoomId;
use stelgano_spec::normalise::{
    InputError, normalise_phone, normalise_pin, validate_phone, validate_pin,
};

/// Stable names of input errors in the vectors.
fn error_name(e: InputError) -> &'static str {
    match e {
        InputError::PhoneTooShort => "phone_too_short",
        InputError::PhoneTooLong => "phone_too_long",
        InputError::PhoneNoCountryCode => "phone_no_country_code",
        InputError::PinTooShort => "pin_too_short",
        InputError::PinTooLong => "pin_too_long",
        InputError::PinControlCharacter => "pin_control_character",
    }
}

const PHONES: &[NormalisationCase] = &[
    ("digits only", "15550123456", "15550123456", None),
    (
        "E.164 with formatting",
        "+1 (555) 012-3456",
        "15550123456",
        None,
    ),
    (
        "surrounding spaces",
        " +254 700 000 000 ",
        "254700000000",
        None,
    ),
    ("dots", "+44.20.7946.0958", "442079460958", None),
    (
        "Arabic-Indic digits",
        "+\u{662}\u{665}\u{664} \u{667}\u{660}\u{660} \u{660}\u{660}\u{660} \u{660}\u{660}\u{660}",
        "254700000000",
        None,
    ),
    (
        "Extended Arabic-Indic (Persian) digits",
        "+\u{6F9}\u{6F8} \u{6F9}\u{6F1}\u{6F2} \u{6F3}\u{6F4}\u{6F5} \u{6F6}\u{6F7}\u{6F8}\u{6F9}",
        "989123456789",
        None,
    ),
    (
        "Devanagari digits",
        "+\u{96F}\u{967} \u{96F}\u{96E}\u{96D}\u{96C}\u{96B} \u{96A}\u{969}\u{968}\u{967}\u{966}",
        "919876543210",
        None,
    ),
    (
        "full-width digits and plus",
        "\u{FF0B}\u{FF18}\u{FF11} \u{FF19}\u{FF10}-\u{FF11}\u{FF12}\u{FF13}\u{FF14}-\u{FF15}\u{FF16}\u{FF17}\u{FF18}",
        "819012345678",
        None,
    ),
    (
        "mixed scripts in one number",
        "+1 555 \u{660}\u{661}\u{662} \u{967}\u{968}\u{969}\u{96A}",
        "15550121234",
        None,
    ),
    (
        "letters and symbols dropped",
        "tel:+1-555-012-3456;ext",
        "15550123456",
        None,
    ),
    (
        "superscript digits are not decimal digits",
        "+1555012345\u{B2}6",
        "15550123456",
        None,
    ),
    ("shortest valid", "+123 4567", "1234567", None),
    (
        "longest valid",
        "+123 456 789 012 345",
        "123456789012345",
        None,
    ),
    ("too short", "+123 456", "123456", Some("phone_too_short")),
    (
        "too long",
        "+1234 5678 9012 3456",
        "1234567890123456",
        Some("phone_too_long"),
    ),
    (
        "international prefix 00 is not a country code",
        "0015550123456",
        "0015550123456",
        Some("phone_no_country_code"),
    ),
    (
        "national form without country code",
        "07700 900123",
        "07700900123",
        Some("phone_no_country_code"),
    ),
    ("empty", "", "", Some("phone_too_short")),
];

const PINS: &[NormalisationCase] = &[
    ("four ASCII digits", "1234", "1234", None),
    ("surrounding whitespace trimmed", " 1234\n", "1234", None),
    (
        "byte-order mark and ideographic space trimmed",
        "\u{FEFF}1234\u{3000}",
        "1234",
        None,
    ),
    ("inner space kept", "12 34", "12 34", None),
    ("colon kept", "12:34", "12:34", None),
    (
        "Arabic-Indic digits fold",
        "\u{661}\u{662}\u{663}\u{664}",
        "1234",
        None,
    ),
    (
        "NFD composes to NFC",
        "pa\u{308}sswo\u{308}rd",
        "p\u{E4}ssw\u{F6}rd",
        None,
    ),
    (
        "already NFC",
        "p\u{E4}ssw\u{F6}rd",
        "p\u{E4}ssw\u{F6}rd",
        None,
    ),
    (
        "emoji count as one character each",
        "\u{1F512}\u{1F511}\u{1F512}\u{1F511}",
        "\u{1F512}\u{1F511}\u{1F512}\u{1F511}",
        None,
    ),
    (
        "CJK passphrase",
        "\u{79D8}\u{5BC6}\u{306E}\u{5408}\u{8A00}\u{8449}",
        "\u{79D8}\u{5BC6}\u{306E}\u{5408}\u{8A00}\u{8449}",
        None,
    ),
    (
        "64 characters",
        "correct horse battery staple correct horse battery staple 123456",
        "correct horse battery staple correct horse battery staple 123456",
        None,
    ),
    ("three characters", "123", "123", Some("pin_too_short")),
    (
        "three after trimming",
        " 123 ",
        "123",
        Some("pin_too_short"),
    ),
    (
        "65 characters",
        "correct horse battery staple correct horse battery staple 1234567",
        "correct horse battery staple correct horse battery staple 1234567",
        Some("pin_too_long"),
    ),
    (
        "control character",
        "12\u{7}34",
        "12\u{7}34",
        Some("pin_control_character"),
    ),
];

/// (comment, phone input, PIN input, room_id, flags)
const CASES: &[(&str, &str, &str, &str, &[&str])] = &[
    (
        "upstream compatibility vector, PIN 1234",
        "15550123456",
        "1234",
        "00000000-0000-0000-0000-000000000000",
        &["upstream"],
    ),
    (
        "upstream compatibility vector, PIN 9999",
        "15550123456",
        "9999",
        "00000000-0000-0000-0000-000000000000",
        &["upstream"],
    ),
    (
        "formatted number gives the same identifiers",
        "+1 (555) 012-3456",
        "1234",
        "00000000-0000-0000-0000-000000000000",
        &["formatted"],
    ),
    (
        "upstream room_hash of 254700000000",
        "+254 700 000 000",
        "0000",
        "6f1c2a9e-3b4d-4c5e-8f70-91a2b3c4d5e6",
        &["upstream"],
    ),
    (
        "Arabic-Indic number equals its ASCII form",
        "+\u{662}\u{665}\u{664} \u{667}\u{660}\u{660} \u{660}\u{660}\u{660} \u{660}\u{660}\u{660}",
        "0000",
        "6f1c2a9e-3b4d-4c5e-8f70-91a2b3c4d5e6",
        &["non_ascii_digits"],
    ),
    (
        "Persian digits",
        "+\u{6F9}\u{6F8} \u{6F9}\u{6F1}\u{6F2} \u{6F3}\u{6F4}\u{6F5} \u{6F6}\u{6F7}\u{6F8}\u{6F9}",
        "\u{6F1}\u{6F3}\u{6F5}\u{6F7}",
        "0c4e9b7a-1f2d-4a6b-9c8d-7e6f5a4b3c2d",
        &["non_ascii_digits"],
    ),
    (
        "Devanagari digits",
        "+\u{96F}\u{967} \u{96F}\u{96E}\u{96D}\u{96C}\u{96B} \u{96A}\u{969}\u{968}\u{967}\u{966}",
        "2468",
        "1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9",
        &["non_ascii_digits"],
    ),
    (
        "full-width digits",
        "\u{FF0B}\u{FF18}\u{FF11} \u{FF19}\u{FF10}-\u{FF11}\u{FF12}\u{FF13}\u{FF14}-\u{FF15}\u{FF16}\u{FF17}\u{FF18}",
        "8642",
        "2c3d4e5f-6071-4829-93a4-b5c6d7e8f90a",
        &["non_ascii_digits"],
    ),
    (
        "Arabic-Indic PIN equals the ASCII PIN",
        "15550123456",
        "\u{661}\u{662}\u{663}\u{664}",
        "00000000-0000-0000-0000-000000000000",
        &["non_ascii_digits"],
    ),
    (
        "PIN whitespace is trimmed",
        "15550123456",
        " 1234\n",
        "00000000-0000-0000-0000-000000000000",
        &["pin_trim"],
    ),
    (
        "PIN with inner space",
        "+44 7700 900123",
        "12 34",
        "3d4e5f60-7182-4a3b-a4b5-c6d7e8f90a1b",
        &["unicode_pin"],
    ),
    (
        "PIN containing colons",
        "+44 7700 900123",
        "1:2:3:4",
        "3d4e5f60-7182-4a3b-a4b5-c6d7e8f90a1b",
        &["unicode_pin"],
    ),
    (
        "Latin PIN in NFC",
        "+49 1512 3456789",
        "p\u{E4}ssw\u{F6}rd",
        "4e5f6071-8293-4b4c-b5c6-d7e8f90a1b2c",
        &["unicode_pin"],
    ),
    (
        "Latin PIN in NFD gives the NFC result",
        "+49 1512 3456789",
        "pa\u{308}sswo\u{308}rd",
        "4e5f6071-8293-4b4c-b5c6-d7e8f90a1b2c",
        &["unicode_pin"],
    ),
    (
        "emoji PIN",
        "+55 11 91234-5678",
        "\u{1F512}\u{1F511}\u{1F512}\u{1F511}",
        "5f607182-93a4-4c5d-86d7-e8f90a1b2c3d",
        &["unicode_pin"],
    ),
    (
        "CJK passphrase PIN",
        "+81 90-1234-5678",
        "\u{79D8}\u{5BC6}\u{306E}\u{5408}\u{8A00}\u{8449}",
        "60718293-a4b5-4d6e-97e8-f90a1b2c3d4e",
        &["unicode_pin"],
    ),
    (
        "Arabic PIN with letters",
        "+20 100 123 4567",
        "\u{633}\u{631}\u{64A}\u{627}\u{661}\u{662}",
        "718293a4-b5c6-4e7f-a8f9-0a1b2c3d4e5f",
        &["unicode_pin", "non_ascii_digits"],
    ),
    (
        "longest PIN (64 characters)",
        "+61 412 345 678",
        "correct horse battery staple correct horse battery staple 123456",
        "8293a4b5-c6d7-4f80-b90a-1b2c3d4e5f60",
        &["long_pin"],
    ),
    (
        "shortest number (7 digits)",
        "+123 4567",
        "5555",
        "93a4b5c6-d7e8-4091-8a1b-2c3d4e5f6071",
        &["length_bounds"],
    ),
    (
        "longest number (15 digits)",
        "+123 456 789 012 345",
        "5555",
        "a4b5c6d7-e8f9-41a2-9b2c-3d4e5f607182",
        &["length_bounds"],
    ),
    (
        "United Kingdom mobile",
        "+44 7700 900123",
        "2580",
        "b5c6d7e8-f90a-42b3-8c3d-4e5f60718293",
        &["country"],
    ),
    (
        "India mobile",
        "+91 98765 43210",
        "1357",
        "c6d7e8f9-0a1b-43c4-9d4e-5f60718293a4",
        &["country"],
    ),
    (
        "Nigeria mobile",
        "+234 803 123 4567",
        "8080",
        "d7e8f90a-1b2c-44d5-ae5f-60718293a4b5",
        &["country"],
    ),
    (
        "Mexico mobile",
        "+52 1 55 1234 5678",
        "4321",
        "e8f90a1b-2c3d-45e6-bf60-718293a4b5c6",
        &["country"],
    ),
    (
        "same number and PIN, different room_id: different key",
        "15550123456",
        "1234",
        "f90a1b2c-3d4e-46f7-8071-8293a4b5c6d7",
        &["room_id"],
    ),
    (
        "United States number, another PIN",
        "+1 415 555 0132",
        "007007",
        "0a1b2c3d-4e5f-4708-9182-93a4b5c6d7e8",
        &["country"],
    ),
];

/// (comment, typed input, expected normalised form, expected error)
type NormalisationCase = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
);

/// Vectors for one normalisation function, checked against it as they are built.
fn normalisation_cases(
    what: &str,
    cases: &[NormalisationCase],
    normalise: fn(&str) -> String,
    validate: fn(&str) -> Result<(), InputError>,
) -> Vec<Value> {
    cases
        .iter()
        .enumerate()
        .map(|(i, (comment, input, expected, error))| {
            let normalised = normalise(input);
            assert_eq!(&normalised, expected, "{what} vector {comment}");
            let actual = validate(&normalised).err().map(error_name);
            assert_eq!(actual, *error, "{what} vector {comment}");
            json!({
                "tcId": i + 1,
                "comment": comment,
                "input": input,
                "normalised": normalised,
                "result": if error.is_some() { "invalid" } else { "valid" },
                "error": error,
            })
        })
        .collect()
}

pub(super) fn file() -> Value {
    let phones = normalisation_cases("phone", PHONES, normalise_phone, validate_phone);
    let pins = normalisation_cases("PIN", PINS, normalise_pin, validate_pin);

    let tests: Vec<Value> = CASES
        .iter()
        .enumerate()
        .map(|(i, (comment, phone_input, pin_input, room_id, flags))| {
            let phone = Phone::parse(phone_input).unwrap_or_else(|e| panic!("{comment}: {e}"));
            let pin = Pin::parse(pin_input).unwrap_or_else(|e| panic!("{comment}: {e}"));
            let room_id: RoomId = room_id.parse().unwrap_or_else(|e| panic!("{comment}: {e}"));
            let ids = PartyHashes::derive(&phone, &pin);
            json!({
                "tcId": i + 1,
                "comment": comment,
                "flags": flags,
                "phone_input": phone_input,
                "pin_input": pin_input,
                "phone": phone.digits(),
                "pin": pin.as_str(),
                "room_hash": ids.room_hash.to_hex(),
                "access_hash": ids.access_hash.to_hex(),
                "sender_hash": ids.sender_hash.to_hex(),
                "room_id": room_id.to_string(),
                "enc_key": hex::encode(enc_key(&phone, &room_id).as_bytes()),
            })
        })
        .collect();

    let mut map = super::header(
        "Normalisation and derivations",
        "derivation.schema.json",
        &[
            "STD1-DRV-1",
            "STD1-DRV-2",
            "STD1-DRV-3",
            "STD1-DRV-4",
            "STD1-DRV-5",
            "STD1-DRV-6",
            "STD1-DRV-7",
            "STD1-DRV-8",
        ],
        "phones and pins: normalisation of typed input and its validity. tests: the identifiers and key \
         derived from a phone and PIN input (normalised first); hashes are lowercase hex, enc_key is the 32 \
         key bytes in hex. Cases flagged upstream reproduce the published std-1 clients byte for byte.",
    );
    map.insert(
        "numberOfTests".into(),
        (phones.len() + pins.len() + tests.len()).into(),
    );
    map.insert("phones".into(), phones.into());
    map.insert("pins".into(), pins.into());
    map.insert("tests".into(), tests.into());
    Value::Object(map)
}
