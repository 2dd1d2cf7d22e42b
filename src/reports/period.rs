//! Reporting periods: a month (`2026-03`), a quarter (`2026-Q1`), a half year (`2026-H1`), a
//! year (`2026`) or any range of days (`2026-01-01..2026-03-31`), inclusive; the period before
//! it (*kỳ trước*), the same period a year earlier (*cùng kỳ*) and the poppy season it falls in.
//!
//! Decree 09/2019/NĐ-CP closes monthly figures on the 14th (15th of the month before to the 14th);
//! provinces that report that way give the range: `2026-02-15..2026-03-14`.
//!
//! ```
//! use vigil::reports::period::Period;
//! let p = Period::parse("2026-H1").unwrap();
//! assert_eq!(p.previous().code, "2025-H2");
//! assert_eq!(p.same_period_last_year().code, "2025-H1");
//! assert_eq!(p.label_vi(), "6 tháng đầu năm 2026");
//! ```

use serde::Serialize;
use time::{Date, Duration, Month};

use crate::time_util::{format_date, parse_date};

/// The shape of a period, which decides its label and the period before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Month,
    Quarter,
    Half,
    Year,
    Custom,
}

/// An inclusive range of days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Period {
    /// How it was written (`2026-H1`), or `FROM..TO` for ranges.
    pub code: String,
    pub kind: Kind,
    #[serde(serialize_with = "crate::time_util::ser_date")]
    pub from: Date,
    #[serde(serialize_with = "crate::time_util::ser_date")]
    pub to: Date,
}

/// Longest custom range, in days (ten years).
pub const MAX_DAYS: i64 = 3660;

fn month_of(m: u8) -> Result<Month, String> {
    Month::try_from(m).map_err(|_| format!("{m} is not a month (01–12)"))
}

fn first(year: i32, month: u8) -> Result<Date, String> {
    Date::from_calendar_date(year, month_of(month)?, 1).map_err(|e| e.to_string())
}

/// The last day of `month` months after the first of (year, month0).
fn last_of(year: i32, month: u8) -> Result<Date, String> {
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    Ok(first(y, m)? - Duration::days(1))
}

fn year_of(s: &str) -> Result<i32, String> {
    match s.parse::<i32>() {
        Ok(y) if (2000..=2100).contains(&y) && s.len() == 4 => Ok(y),
        _ => Err(format!("{s:?} is not a year (2000–2100)")),
    }
}

impl Period {
    fn months(code: String, kind: Kind, year: i32, m0: u8, m1: u8) -> Result<Period, String> {
        Ok(Period {
            code,
            kind,
            from: first(year, m0)?,
            to: last_of(year, m1)?,
        })
    }

    pub fn month(year: i32, month: u8) -> Result<Period, String> {
        Period::months(
            format!("{year:04}-{month:02}"),
            Kind::Month,
            year,
            month,
            month,
        )
    }

    pub fn quarter(year: i32, q: u8) -> Result<Period, String> {
        if !(1..=4).contains(&q) {
            return Err(format!("Q{q} is not a quarter (Q1–Q4)"));
        }
        Period::months(
            format!("{year:04}-Q{q}"),
            Kind::Quarter,
            year,
            q * 3 - 2,
            q * 3,
        )
    }

    pub fn half(year: i32, h: u8) -> Result<Period, String> {
        if !(1..=2).contains(&h) {
            return Err(format!("H{h} is not a half year (H1, H2)"));
        }
        Period::months(
            format!("{year:04}-H{h}"),
            Kind::Half,
            year,
            h * 6 - 5,
            h * 6,
        )
    }

    pub fn year(year: i32) -> Result<Period, String> {
        Period::months(format!("{year:04}"), Kind::Year, year, 1, 12)
    }

    pub fn range(from: Date, to: Date) -> Result<Period, String> {
        if to < from {
            return Err(format!(
                "the range ends ({}) before it starts ({})",
                format_date(to),
                format_date(from)
            ));
        }
        if (to - from).whole_days() >= MAX_DAYS {
            return Err(format!("a range may span at most {MAX_DAYS} days"));
        }
        Ok(Period {
            code: format!("{}..{}", format_date(from), format_date(to)),
            kind: Kind::Custom,
            from,
            to,
        })
    }

    /// Parses `2026-03`, `2026-Q1`, `2026-H1`, `2026` or `2026-01-01..2026-03-31`.
    pub fn parse(s: &str) -> Result<Period, String> {
        let s = s.trim();
        let usage = "write a month (2026-03), quarter (2026-Q1), half year (2026-H1), year (2026) \
                     or range (2026-01-01..2026-03-31)";
        if let Some((a, b)) = s.split_once("..") {
            let from = parse_date(a).map_err(|e| format!("{e}; {usage}"))?;
            let to = parse_date(b).map_err(|e| format!("{e}; {usage}"))?;
            return Period::range(from, to);
        }
        let bad = |e: String| format!("{s:?}: {e}; {usage}");
        match s.split_once('-') {
            None => Period::year(year_of(s).map_err(bad)?),
            Some((y, rest)) => {
                let year = year_of(y).map_err(bad)?;
                let upper = rest.to_ascii_uppercase();
                if let Some(q) = upper.strip_prefix('Q') {
                    Period::quarter(year, q.parse().map_err(|_| bad(format!("Q{q}?")))?)
                        .map_err(bad)
                } else if let Some(h) = upper.strip_prefix('H') {
                    Period::half(year, h.parse().map_err(|_| bad(format!("H{h}?")))?).map_err(bad)
                } else if rest.len() == 2 && rest.bytes().all(|b| b.is_ascii_digit()) {
                    Period::month(year, rest.parse().map_err(|_| bad(rest.into()))?).map_err(bad)
                } else {
                    Err(bad(format!("{rest:?} is not a month, quarter or half")))
                }
            }
        }
    }

    /// The year the period ends in (drug-free targets are yearly).
    pub fn year_of_end(&self) -> i32 {
        self.to.year()
    }

    fn month_index(&self) -> (i32, u8) {
        (self.from.year(), self.from.month() as u8)
    }

    /// The period just before, of the same shape (a range: the same number of days before it).
    pub fn previous(&self) -> Period {
        let (y, m) = self.month_index();
        let shifted = match self.kind {
            Kind::Month if m == 1 => Period::month(y - 1, 12),
            Kind::Month => Period::month(y, m - 1),
            Kind::Quarter if m == 1 => Period::quarter(y - 1, 4),
            Kind::Quarter => Period::quarter(y, (m - 1) / 3),
            Kind::Half if m == 1 => Period::half(y - 1, 2),
            Kind::Half => Period::half(y, 1),
            Kind::Year => Period::year(y - 1),
            Kind::Custom => {
                let days = (self.to - self.from).whole_days() + 1;
                let to = self.from - Duration::days(1);
                Period::range(to - Duration::days(days - 1), to)
            }
        };
        shifted.unwrap_or_else(|_| self.clone())
    }

    /// The same period one year earlier (*cùng kỳ năm trước*); 29 February becomes the 28th.
    pub fn same_period_last_year(&self) -> Period {
        let back = |d: Date| {
            Date::from_calendar_date(d.year() - 1, d.month(), d.day())
                .or_else(|_| Date::from_calendar_date(d.year() - 1, d.month(), 28))
                .unwrap_or(d)
        };
        let (y, m) = self.month_index();
        let shifted = match self.kind {
            Kind::Month => Period::month(y - 1, m),
            Kind::Quarter => Period::quarter(y - 1, m.div_ceil(3)),
            Kind::Half => Period::half(y - 1, m.div_ceil(6)),
            Kind::Year => Period::year(y - 1),
            Kind::Custom => Period::range(back(self.from), back(self.to)),
        };
        shifted.unwrap_or_else(|_| self.clone())
    }

    /// The Vietnamese name of the period, as a report title says it.
    pub fn label_vi(&self) -> String {
        let (y, m) = self.month_index();
        match self.kind {
            Kind::Month => format!("tháng {m} năm {y}"),
            Kind::Quarter => format!(
                "quý {} năm {y}",
                ["I", "II", "III", "IV"][(m as usize - 1) / 3]
            ),
            Kind::Half if m == 1 => format!("6 tháng đầu năm {y}"),
            Kind::Half => format!("6 tháng cuối năm {y}"),
            Kind::Year => format!("năm {y}"),
            Kind::Custom => format!(
                "từ ngày {} đến ngày {}",
                vi_date(self.from),
                vi_date(self.to)
            ),
        }
    }

    pub fn contains(&self, d: Date) -> bool {
        self.from <= d && d <= self.to
    }
}

/// `dd/mm/yyyy`, as Vietnamese documents write dates.
pub fn vi_date(d: Date) -> String {
    format!("{:02}/{:02}/{}", d.day(), d.month() as u8, d.year())
}

/// The opium-poppy season (*vụ*), sown about September and harvested by March (DOMAIN.md):
/// 1 September to 31 March.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Season {
    #[serde(serialize_with = "crate::time_util::ser_date")]
    pub from: Date,
    #[serde(serialize_with = "crate::time_util::ser_date")]
    pub to: Date,
    pub label: String,
}

impl Season {
    /// The latest season that began on or before `day` (for a day from April to August: the
    /// season just ended).
    pub fn at(day: Date) -> Season {
        let start_year = if day.month() as u8 >= 9 {
            day.year()
        } else {
            day.year() - 1
        };
        let from = Date::from_calendar_date(start_year, Month::September, 1).unwrap_or(day);
        let to = Date::from_calendar_date(start_year + 1, Month::March, 31).unwrap_or(day);
        Season {
            from,
            to,
            label: format!("vụ {}–{}", start_year, start_year + 1),
        }
    }

    /// Whether a flight on `d` counts for this season in a report whose period ends on `until`.
    pub fn covers(&self, d: Date, until: Date) -> bool {
        self.from <= d && d <= self.to && d <= until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        parse_date(s).unwrap()
    }

    #[test]
    fn periods_parse_with_bounds_previous_and_same_period_last_year() {
        // (input, from, to, previous, same period last year)
        let table = [
            ("2026-03", "2026-03-01", "2026-03-31", "2026-02", "2025-03"),
            ("2026-01", "2026-01-01", "2026-01-31", "2025-12", "2025-01"),
            ("2024-02", "2024-02-01", "2024-02-29", "2024-01", "2023-02"),
            ("2026-Q1", "2026-01-01", "2026-03-31", "2025-Q4", "2025-Q1"),
            ("2026-q3", "2026-07-01", "2026-09-30", "2026-Q2", "2025-Q3"),
            ("2026-H1", "2026-01-01", "2026-06-30", "2025-H2", "2025-H1"),
            ("2026-H2", "2026-07-01", "2026-12-31", "2026-H1", "2025-H2"),
            ("2026", "2026-01-01", "2026-12-31", "2025", "2025"),
            (
                "2026-01-10..2026-01-19",
                "2026-01-10",
                "2026-01-19",
                "2025-12-31..2026-01-09",
                "2025-01-10..2025-01-19",
            ),
            (
                "2024-02-29..2024-03-01",
                "2024-02-29",
                "2024-03-01",
                "2024-02-27..2024-02-28",
                "2023-02-28..2023-03-01",
            ),
        ];
        for (input, from, to, prev, last) in table {
            let p = Period::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!((p.from, p.to), (d(from), d(to)), "{input}");
            assert_eq!(p.previous().code, prev, "{input}");
            assert_eq!(p.same_period_last_year().code, last, "{input}");
        }
        for bad in [
            "2026-13",
            "2026-Q5",
            "2026-H3",
            "26",
            "2026-3",
            "yesterday",
            "2026-02-01..2026-01-01",
            "2026-02-30..2026-03-01",
            "1999",
        ] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn labels_are_vietnamese() {
        let table = [
            ("2026-03", "tháng 3 năm 2026"),
            ("2026-Q2", "quý II năm 2026"),
            ("2026-H2", "6 tháng cuối năm 2026"),
            ("2025", "năm 2025"),
            (
                "2026-01-15..2026-02-14",
                "từ ngày 15/01/2026 đến ngày 14/02/2026",
            ),
        ];
        for (input, label) in table {
            assert_eq!(Period::parse(input).unwrap().label_vi(), label);
        }
    }

    #[test]
    fn the_season_runs_september_to_march() {
        let table = [
            ("2026-06-30", "2025-09-01", "2026-03-31"),
            ("2026-03-31", "2025-09-01", "2026-03-31"),
            ("2026-09-01", "2026-09-01", "2027-03-31"),
            ("2026-12-31", "2026-09-01", "2027-03-31"),
        ];
        for (day, from, to) in table {
            let s = Season::at(d(day));
            assert_eq!((s.from, s.to), (d(from), d(to)), "{day}");
        }
        let s = Season::at(d("2026-12-31"));
        assert_eq!(s.label, "vụ 2026–2027");
        assert!(s.covers(d("2026-10-01"), d("2026-12-31")));
        assert!(!s.covers(d("2027-01-05"), d("2026-12-31")));
    }
}
