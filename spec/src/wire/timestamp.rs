//! UTC timestamps on the wire: `YYYY-MM-DDTHH:MM:SSZ`, second precision (STD1-WIRE-19).
//!
//! One fixed layout (no offsets, no fractions) keeps the text comparable as a
//! string and leaves nothing for two implementations to format differently.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::ids::SyntaxError;

/// A point in time, whole seconds, UTC.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Timestamp(i64);

impl Timestamp {
    /// 1970-01-01T00:00:00Z.
    pub const EPOCH: Timestamp = Timestamp(0);

    /// From seconds since the Unix epoch; `None` outside 1970 to 9999.
    pub fn from_unix(seconds: i64) -> Option<Self> {
        let dt = OffsetDateTime::from_unix_timestamp(seconds).ok()?;
        (1970..=9999).contains(&dt.year()).then_some(Self(seconds))
    }

    /// Truncates a date-time to whole seconds.
    pub fn from_datetime(dt: OffsetDateTime) -> Option<Self> {
        Self::from_unix(dt.unix_timestamp())
    }

    /// The current time, truncated to the second.
    pub fn now() -> Self {
        // The system clock is after 1970 and before 9999 on every machine we run on.
        Self(OffsetDateTime::now_utc().unix_timestamp())
    }

    /// Seconds since the Unix epoch.
    pub const fn unix(self) -> i64 {
        self.0
    }

    /// The same instant as a `time` date-time in UTC.
    pub fn to_datetime(self) -> OffsetDateTime {
        // Every constructor checks the range, so the conversion cannot fail.
        OffsetDateTime::from_unix_timestamp(self.0).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// This time plus the whole seconds of `d` (fractions are dropped);
    /// `None` past 9999.
    pub fn checked_add(self, d: std::time::Duration) -> Option<Self> {
        let seconds = i64::try_from(d.as_secs()).ok()?;
        Self::from_unix(self.0.checked_add(seconds)?)
    }

    /// Whole seconds from `earlier` to this time; negative when `earlier`
    /// is later (STD1-SRV-7: `retry_after = lock time − operation time`).
    pub const fn seconds_since(self, earlier: Timestamp) -> i64 {
        self.0 - earlier.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dt = self.to_datetime();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            dt.year(),
            u8::from(dt.month()),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second()
        )
    }
}

/// Reads `width` ASCII digits at `at`.
fn digits(bytes: &[u8], at: usize, width: usize) -> Option<u32> {
    let field = bytes.get(at..at + width)?;
    field.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

impl FromStr for Timestamp {
    type Err = SyntaxError;
    fn from_str(s: &str) -> Result<Self, SyntaxError> {
        const ERR: SyntaxError = SyntaxError("timestamp");
        let b = s.as_bytes();
        let separators_ok = b.len() == 20
            && b[4] == b'-'
            && b[7] == b'-'
            && b[10] == b'T'
            && b[13] == b':'
            && b[16] == b':'
            && b[19] == b'Z';
        if !separators_ok {
            return Err(ERR);
        }
        let field = |at, width| digits(b, at, width).ok_or(ERR);
        let year = i32::try_from(field(0, 4)?).map_err(|_| ERR)?;
        let month = u8::try_from(field(5, 2)?)
            .ok()
            .and_then(|m| Month::try_from(m).ok())
            .ok_or(ERR)?;
        let day = u8::try_from(field(8, 2)?).map_err(|_| ERR)?;
        let date = Date::from_calendar_date(year, month, day).map_err(|_| ERR)?;
        let hms = |at| field(at, 2).and_then(|v| u8::try_from(v).map_err(|_| ERR));
        let time = Time::from_hms(hms(11)?, hms(14)?, hms(17)?).map_err(|_| ERR)?;
        let dt = PrimitiveDateTime::new(date, time).assume_utc();
        Self::from_datetime(dt).ok_or(ERR)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_the_one_layout() {
        // STD1-WIRE-19
        let t = Timestamp::from_unix(1_776_530_447).expect("in range");
        assert_eq!(t.to_string(), "2026-04-18T16:40:47Z");
        assert_eq!("2026-04-18T16:40:47Z".parse(), Ok(t));
        assert_eq!(
            Timestamp::from_unix(0).map(|t| t.to_string()).as_deref(),
            Some("1970-01-01T00:00:00Z")
        );
    }

    #[test]
    fn range_is_1970_to_9999() {
        // STD1-WIRE-19
        assert!(Timestamp::from_unix(-1).is_none());
        let last = Timestamp::from_unix(253_402_300_799).map(|t| t.to_string());
        assert_eq!(last.as_deref(), Some("9999-12-31T23:59:59Z"));
        assert!(Timestamp::from_unix(253_402_300_800).is_none());
        let t = Timestamp::from_unix(1_000).expect("in range");
        let later = t.checked_add(std::time::Duration::from_millis(1_800_999));
        assert_eq!(later.map(Timestamp::unix), Some(2_800));
        assert_eq!(later.map(|l| l.seconds_since(t)), Some(1_800));
    }

    #[test]
    fn rejects_other_layouts_and_impossible_dates() {
        // STD1-WIRE-19
        for bad in [
            "2026-04-18T16:40:47.000Z",
            "2026-04-18T16:40:47+00:00",
            "2026-04-18 16:40:47Z",
            "2026-04-18t16:40:47z",
            "2026-02-30T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-04-18T24:00:00Z",
            "2026-04-18T23:60:00Z",
            "1969-12-31T23:59:59Z",
            "+026-04-18T16:40:47Z",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad}");
        }
    }
}
