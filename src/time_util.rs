//! Dates and timestamps in the formats the API and the store use (ISO 8601 / RFC 3339, UTC).

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

/// Now, as an RFC 3339 UTC timestamp with millisecond precision.
pub fn now_rfc3339() -> String {
    rfc3339(OffsetDateTime::now_utc())
}

/// An RFC 3339 UTC timestamp with millisecond precision (the one format the store compares as text).
///
/// Always exactly three fractional digits, so timestamps order correctly as text (the well-known
/// RFC 3339 formatter trims trailing zeros: `…00.12Z` would sort after `…00.121Z`).
pub fn rfc3339(now: OffsetDateTime) -> String {
    let utc = now.to_offset(time::UtcOffset::UTC);
    utc.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .unwrap_or_else(|_| utc.unix_timestamp().to_string())
}

/// Today's date in Vietnam (UTC+7), which is what field teams mean by "today".
pub fn today() -> Date {
    (OffsetDateTime::now_utc() + time::Duration::hours(7)).date()
}

/// Parses `YYYY-MM-DD`, or the date part of an RFC 3339 timestamp.
pub fn parse_date(s: &str) -> Result<Date, String> {
    let s = s.trim();
    let day = s.get(..10).unwrap_or(s);
    if s.len() > 10 {
        OffsetDateTime::parse(s, &Rfc3339)
            .map_err(|_| format!("{s:?} is not a date (YYYY-MM-DD) or RFC 3339 timestamp"))?;
    }
    Date::parse(day, format_description!("[year]-[month]-[day]"))
        .map_err(|_| format!("{s:?} is not a valid date (YYYY-MM-DD)"))
}

pub fn format_date(d: Date) -> String {
    d.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// Days since 1970-01-01, for compact date comparisons in the index.
pub fn day_number(d: Date) -> i32 {
    d.to_julian_day() - 2_440_588
}

/// `YYYY-MM-DD` of a [`day_number`] (empty if out of range).
pub fn day_to_date(day: i32) -> String {
    Date::from_julian_day(day + 2_440_588)
        .map(format_date)
        .unwrap_or_default()
}

/// Serde helper: a `Date` as `YYYY-MM-DD`.
pub fn ser_date<S: serde::Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_date(*d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_fixed_width_and_sort_as_text() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_764_000_000_120_000_000).unwrap();
        let a = rfc3339(t);
        let b = rfc3339(t + time::Duration::milliseconds(1));
        assert_eq!(a.len(), "2025-11-24T16:00:00.120Z".len(), "{a}");
        assert!(a.ends_with(".120Z"), "{a}");
        assert!(a < b, "{a} < {b}");
        assert!(OffsetDateTime::parse(&a, &Rfc3339).is_ok());
    }

    #[test]
    fn dates_parse_and_number() {
        let d = parse_date("1970-01-02").unwrap();
        assert_eq!(day_number(d), 1);
        assert_eq!(
            parse_date("2026-03-01T10:00:00Z").unwrap(),
            parse_date("2026-03-01").unwrap()
        );
        assert!(parse_date("2026-02-30").is_err());
        assert!(parse_date("01/03/2026").is_err());
    }
}
