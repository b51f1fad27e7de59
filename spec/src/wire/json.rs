//! A JSON tree for I-JSON messages (RFC 7493), as STD1-WIRE-10 requires.
//!
//! `serde_json::Value` keeps the last of two equal names, and two parsers
//! that keep different ones read one frame two ways. This tree keeps member
//! order and fails on the first duplicate at any depth, so a frame has exactly
//! one meaning or none. serde_json already refuses escaped lone surrogates and
//! numbers beyond the range of a double, the other I-JSON rules. Nesting is
//! limited to [`MAX_DEPTH`]; serde_json's own limit (128) fails deeper input
//! cleanly before it can exhaust the stack.

use std::collections::BTreeSet;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};

/// A parsed JSON value. Numbers are not kept: no std-1 field is numeric.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number,
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Whether an array appears anywhere in the value.
    pub fn contains_array(&self) -> bool {
        match self {
            Json::Array(_) => true,
            Json::Object(members) => members.iter().any(|(_, v)| v.contains_array()),
            _ => false,
        }
    }

    /// Nesting depth: 0 for a scalar, 1 for an array or object of scalars.
    pub fn depth(&self) -> usize {
        match self {
            Json::Array(items) => 1 + items.iter().map(Json::depth).max().unwrap_or(0),
            Json::Object(members) => 1 + members.iter().map(|(_, v)| v.depth()).max().unwrap_or(0),
            _ => 0,
        }
    }
}

/// Deepest nesting of arrays and objects a frame may have, the outermost
/// object counting as 1 (STD1-WIRE-10).
pub const MAX_DEPTH: usize = 32;

/// Parses one JSON text; `None` for invalid JSON, trailing data, a value that
/// is not I-JSON (duplicate member names, lone surrogates, numbers out of
/// range) or nesting deeper than [`MAX_DEPTH`].
pub fn parse(text: &str) -> Option<Json> {
    let value: Json = serde_json::from_str(text).ok()?;
    (value.depth() <= MAX_DEPTH).then_some(value)
}

/// The map key serde_json uses for numbers under `arbitrary_precision`.
const ARBITRARY_PRECISION_TOKEN: &str = "$serde_json::private::Number";

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Json, E> {
        Ok(Json::Number)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Json, E> {
        Ok(Json::Number)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Json, E> {
        Ok(Json::Number)
    }

    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut seen = BTreeSet::new();
        let mut members = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            if name == ARBITRARY_PRECISION_TOKEN {
                // serde_json's `arbitrary_precision` feature (which any crate in a
                // build can switch on) delivers numbers as this one-member map.
                // Apply the I-JSON range rule ourselves so the decoder's answer
                // does not depend on the features of the build.
                let digits: String = map.next_value()?;
                return match digits.parse::<f64>() {
                    Ok(n) if n.is_finite() => Ok(Json::Number),
                    _ => Err(de::Error::custom("number out of range")),
                };
            }
            if !seen.insert(name.clone()) {
                return Err(de::Error::custom("duplicate member name"));
            }
            let value = map.next_value()?;
            members.push((name, value));
        }
        Ok(Json::Object(members))
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_refused_at_any_depth() {
        // STD1-WIRE-10
        assert!(parse(r#"{"a":1,"a":2}"#).is_none());
        assert!(parse(r#"{"a":{"b":1,"b":1}}"#).is_none());
        assert!(parse(r#"[{"x":[{"y":0,"y":0}]}]"#).is_none());
        assert!(parse(r#"{"a":1,"b":2}"#).is_some());
    }

    #[test]
    fn escaped_spellings_of_one_name_are_duplicates() {
        // STD1-WIRE-10: "\u0061" is "a" after unescaping.
        assert!(parse(r#"{"a":1,"\u0061":2}"#).is_none());
    }

    #[test]
    fn deep_nesting_fails_cleanly() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(&deep).is_none());
    }

    #[test]
    fn depth_limit_is_exact() {
        // STD1-WIRE-10: the outermost object counts as 1.
        let nested = |depth: usize| {
            format!(
                "{{\"a\":{}0{}}}",
                "[".repeat(depth - 1),
                "]".repeat(depth - 1)
            )
        };
        assert_eq!(
            parse(&nested(MAX_DEPTH)).map(|j| j.depth()),
            Some(MAX_DEPTH)
        );
        assert!(parse(&nested(MAX_DEPTH + 1)).is_none());
        assert_eq!(parse("{}").map(|j| j.depth()), Some(1));
    }

    #[test]
    fn numbers_at_the_edge_of_the_double_range() {
        // STD1-WIRE-10: the largest double is in range; the next decimal
        // power is not. Needs serde_json's `float_roundtrip`, which the
        // workspace enables so every build parses numbers alike.
        assert!(parse(r#"{"a":1.7976931348623157e308}"#).is_some());
        assert!(parse(r#"{"a":1.7976931348623158e308}"#).is_some());
        assert!(parse(r#"{"a":1.8e308}"#).is_none());
        assert!(parse(r#"{"a":5e-324,"b":1e-400}"#).is_some());
    }

    #[test]
    fn non_i_json_values_are_refused() {
        // STD1-WIRE-10: numbers beyond a double and escaped lone surrogates.
        assert!(parse(r#"{"a":1e400}"#).is_none());
        assert!(parse(r#"{"a":-1e400}"#).is_none());
        assert!(parse(r#"{"a":"\udc00"}"#).is_none());
        assert!(parse(r#"{"a":1e300,"b":"\ud83d\ude00"}"#).is_some());
    }

    #[test]
    fn invalid_json_is_none() {
        for bad in [
            "",
            "{",
            "{}x",
            "{'a':1}",
            "\u{feff}{}",
            r#"{"a":"\ud800"}"#,
            "NaN",
        ] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
    }
}
