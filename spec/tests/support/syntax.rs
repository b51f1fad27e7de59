//! Field syntax, restated from the specification's text rather than from
//! the crate: STD1-DRV-8 and STD1-WIRE-15 (hashes), STD1-WIRE-16 (UUIDs),
//! STD1-WIRE-9 (refs), STD1-WIRE-17 (country codes), STD1-WIRE-18
//! (canonical padded base64) and STD1-WIRE-19 (timestamps). Each oracle
//! also decodes, so that the frame model can build the value it expects
//! without the parser under test.

/// Exactly 64 characters of `[0-9a-f]` (STD1-WIRE-15), as 32 bytes.
pub fn hex64(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in b.chunks(2).enumerate() {
        out[i] = lower_hex_digit(pair[0])? << 4 | lower_hex_digit(pair[1])?;
    }
    Some(out)
}

fn lower_hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// The 36-character lowercase hyphenated UUID form `8-4-4-4-12`
/// (STD1-WIRE-16), whatever its version and variant bits, as 16 bytes.
pub fn uuid(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let digits: Vec<u8> = b
        .iter()
        .enumerate()
        .filter(|(i, _)| ![8, 13, 18, 23].contains(i))
        .map(|(_, &c)| c)
        .collect();
    let mut out = [0u8; 16];
    for (i, pair) in digits.chunks(2).enumerate() {
        out[i] = lower_hex_digit(pair[0])? << 4 | lower_hex_digit(pair[1])?;
    }
    Some(out)
}

/// 1 to 64 characters, each U+0021 to U+007E (STD1-WIRE-9).
pub fn is_ref(s: &str) -> bool {
    let n = s.chars().count();
    (1..=64).contains(&n) && s.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c))
}

/// Exactly two characters `A` to `Z` (STD1-WIRE-17).
pub fn is_country(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    chars.len() == 2 && chars.iter().all(char::is_ascii_uppercase)
}

const BASE64_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Canonical standard base64 (STD1-WIRE-18): the RFC 4648 §4 alphabet in
/// groups of four symbols, `=` padding required in the last group only, no
/// other character, and zero bits in the unused low-order bits of the last
/// symbol. Returns the decoded bytes.
pub fn base64(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        return None;
    }
    let groups = b.len() / 4;
    let mut out = Vec::with_capacity(groups * 3);
    for (i, group) in b.chunks(4).enumerate() {
        let pads = group.iter().rev().take_while(|&&c| c == b'=').count();
        if pads > 2 || (pads > 0 && i + 1 != groups) {
            return None;
        }
        let mut n: u32 = 0;
        for &c in &group[..4 - pads] {
            let v = BASE64_ALPHABET.iter().position(|&a| a == c)?;
            n = n << 6 | v as u32;
        }
        // Padding symbols stand for zero bits; the 24-bit group then holds
        // 3 - pads bytes, and every bit after them must be zero.
        n <<= 6 * pads;
        if n & ((1 << (8 * pads)) - 1) != 0 {
            return None;
        }
        out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8][..3 - pads]);
    }
    Some(out)
}

/// `YYYY-MM-DDTHH:MM:SSZ` with a real date from 1970 to 9999 and a time
/// of day without leap seconds (STD1-WIRE-19).
pub fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let layout = b.len() == 20
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'Z',
            _ => c.is_ascii_digit(),
        });
    if !layout {
        return false;
    }
    let field = |from: usize, to: usize| -> u32 {
        b[from..to]
            .iter()
            .fold(0, |acc, &c| acc * 10 + u32::from(c - b'0'))
    };
    let (year, month, day) = (field(0, 4), field(5, 7), field(8, 10));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    };
    (1970..=9999).contains(&year)
        && (1..=days_in_month).contains(&day)
        && field(11, 13) < 24
        && field(14, 16) < 60
        && field(17, 19) < 60
}
