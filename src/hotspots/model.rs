//! Hotspot records and their validation.

use serde::Serialize;
use time::Date;

use super::Status;
use crate::time_util::{format_date, parse_date, today};

/// What kind of place a hotspot is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// *Điểm bán lẻ* — retail selling point.
    DiemBanLe,
    /// *Điểm sử dụng* — a spot where drugs are used.
    DiemSuDung,
    /// *Tụ điểm sử dụng* — gathering place where drug use is organised.
    TuDiemSuDung,
    /// *Điểm nóng* — an especially serious "hot point".
    DiemNong,
    /// *Boong-ke* — fortified retail point.
    BoongKe,
    /// *Khác* — other.
    Khac,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::DiemBanLe,
        Kind::DiemSuDung,
        Kind::TuDiemSuDung,
        Kind::DiemNong,
        Kind::BoongKe,
        Kind::Khac,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Kind::DiemBanLe => "diem_ban_le",
            Kind::DiemSuDung => "diem_su_dung",
            Kind::TuDiemSuDung => "tu_diem_su_dung",
            Kind::DiemNong => "diem_nong",
            Kind::BoongKe => "boong_ke",
            Kind::Khac => "khac",
        }
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Kind::DiemBanLe => "Điểm bán lẻ",
            Kind::DiemSuDung => "Điểm sử dụng",
            Kind::TuDiemSuDung => "Tụ điểm sử dụng",
            Kind::DiemNong => "Điểm nóng",
            Kind::BoongKe => "Boong-ke",
            Kind::Khac => "Khác",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Kind::DiemBanLe => "Retail point",
            Kind::DiemSuDung => "Use spot",
            Kind::TuDiemSuDung => "Organised use venue",
            Kind::DiemNong => "Hot point",
            Kind::BoongKe => "Fortified point (bunker)",
            Kind::Khac => "Other",
        }
    }

    pub fn from_code(code: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// Accepts the code or the Vietnamese label in any case (spreadsheets exported by police use labels).
    pub fn from_input(s: &str) -> Option<Kind> {
        let t = s.trim();
        Kind::from_code(t).or_else(|| {
            let low = t.to_lowercase();
            Kind::ALL
                .into_iter()
                .find(|k| k.label_vi().to_lowercase() == low)
        })
    }

    pub fn as_u8(self) -> u8 {
        self as u8
    }
}

impl Status {
    /// Accepts the code or the Vietnamese label in any case.
    pub fn from_input(s: &str) -> Option<Status> {
        let t = s.trim();
        Status::from_code(t).or_else(|| {
            let low = t.to_lowercase();
            Status::ALL
                .into_iter()
                .find(|st| st.label_vi().to_lowercase() == low)
        })
    }
}

/// A stored hotspot as readers see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hotspot {
    pub id: i64,
    pub lon: f64,
    pub lat: f64,
    pub name: String,
    pub kind: Kind,
    pub status: Status,
    pub address: Option<String>,
    pub source: Option<String>,
    pub notes: Option<String>,
    #[serde(serialize_with = "crate::time_util::ser_date")]
    pub reported_on: Date,
    #[serde(serialize_with = "crate::time_util::ser_date")]
    pub status_since: Date,
    pub commune_code: Option<String>,
    pub province_code: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub version: i64,
}

/// One entry of a hotspot's history: a dated, attributed status change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HotspotEvent {
    pub from: Option<Status>,
    pub to: Status,
    #[serde(serialize_with = "crate::time_util::ser_date")]
    pub on: Date,
    pub actor: String,
    pub note: Option<String>,
    pub recorded_at: String,
}

/// Unvalidated hotspot fields as they arrive from a form, a CSV row, a GeoJSON or KML feature.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawHotspot {
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub status: Option<String>,
    pub address: Option<String>,
    pub source: Option<String>,
    pub notes: Option<String>,
    pub reported_on: Option<String>,
}

/// A validated hotspot ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct HotspotInput {
    pub lon: f64,
    pub lat: f64,
    pub name: String,
    pub kind: Kind,
    pub status: Status,
    pub address: Option<String>,
    pub source: Option<String>,
    pub notes: Option<String>,
    pub reported_on: Date,
}

/// A field that failed validation, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    /// A stable reason clients can translate (`required`, `not_allowed`, `invalid`, `too_long`,
    /// `out_of_range`, `in_future`, `before_flight`), when the check sets one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
            code: None,
        }
    }

    pub fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

pub const MAX_NAME: usize = 200;
pub const MAX_ADDRESS: usize = 500;
pub const MAX_SOURCE: usize = 200;
pub const MAX_NOTES: usize = 4000;

/// Checks a longitude/latitude pair (WGS 84 degrees).
pub fn check_lon_lat(lon: f64, lat: f64) -> Result<(), FieldError> {
    if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
        return Err(FieldError::new(
            "lon",
            format!(
                "longitude {lon} is outside -180..180 (is the CRS right? give --crs for projected x/y)"
            ),
        ));
    }
    if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
        return Err(FieldError::new(
            "lat",
            format!(
                "latitude {lat} is outside -90..90 (is the CRS right? give --crs for projected x/y)"
            ),
        ));
    }
    Ok(())
}

fn text(
    field: &str,
    v: Option<String>,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let v = v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())?;
    if v.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!(
                "is {} characters long; the limit is {max}",
                v.chars().count()
            ),
        ));
    }
    if v.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        errors.push(FieldError::new(field, "contains control characters"));
    }
    Some(v)
}

impl RawHotspot {
    /// Validates every field and returns all problems at once.
    pub fn validate(self) -> Result<HotspotInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let (lon, lat) = match (self.lon, self.lat) {
            (Some(lon), Some(lat)) => {
                if let Err(e) = check_lon_lat(lon, lat) {
                    errors.push(e);
                }
                (lon, lat)
            }
            _ => {
                errors.push(FieldError::new(
                    "geometry",
                    "a point (longitude and latitude) is required",
                ));
                (0.0, 0.0)
            }
        };
        let name = text("name", self.name, MAX_NAME, &mut errors);
        if name.is_none() {
            errors.push(FieldError::new("name", "is required"));
        }
        let kind = match self
            .kind
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => {
                errors.push(FieldError::new(
                    "kind",
                    format!("is required; one of {}", kind_codes()),
                ));
                None
            }
            Some(k) => {
                let kind = Kind::from_input(k);
                if kind.is_none() {
                    errors.push(FieldError::new(
                        "kind",
                        format!("unknown kind {k:?}; one of {}", kind_codes()),
                    ));
                }
                kind
            }
        };
        let status = match self
            .status
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => Some(Status::Reported),
            Some(s) => {
                let st = Status::from_input(s);
                if st.is_none() {
                    let all: Vec<&str> = Status::ALL.iter().map(|s| s.code()).collect();
                    errors.push(FieldError::new(
                        "status",
                        format!("unknown status {s:?}; one of {}", all.join(", ")),
                    ));
                }
                st
            }
        };
        let reported_on = match self
            .reported_on
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => Some(today()),
            Some(s) => match parse_date(s) {
                Ok(d) if d > today().next_day().unwrap_or(d) => {
                    errors.push(FieldError::new(
                        "reported_on",
                        format!("{s} is in the future"),
                    ));
                    None
                }
                Ok(d) if d.year() < 1990 => {
                    errors.push(FieldError::new(
                        "reported_on",
                        format!("{s} is before 1990"),
                    ));
                    None
                }
                Ok(d) => Some(d),
                Err(e) => {
                    errors.push(FieldError::new("reported_on", e));
                    None
                }
            },
        };
        let address = text("address", self.address, MAX_ADDRESS, &mut errors);
        let source = text("source", self.source, MAX_SOURCE, &mut errors);
        let notes = text("notes", self.notes, MAX_NOTES, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        match (name, kind, status, reported_on) {
            (Some(name), Some(kind), Some(status), Some(reported_on)) => Ok(HotspotInput {
                lon,
                lat,
                name,
                kind,
                status,
                address,
                source,
                notes,
                reported_on,
            }),
            _ => Err(vec![FieldError::new("hotspot", "incomplete")]),
        }
    }
}

impl From<&Hotspot> for RawHotspot {
    fn from(h: &Hotspot) -> Self {
        RawHotspot {
            lon: Some(h.lon),
            lat: Some(h.lat),
            name: Some(h.name.clone()),
            kind: Some(h.kind.code().into()),
            status: Some(h.status.code().into()),
            address: h.address.clone(),
            source: h.source.clone(),
            notes: h.notes.clone(),
            reported_on: Some(format_date(h.reported_on)),
        }
    }
}

fn kind_codes() -> String {
    Kind::ALL
        .iter()
        .map(|k| k.code())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawHotspot {
        RawHotspot {
            lon: Some(105.2),
            lat: Some(21.8),
            name: Some("Điểm bán lẻ thôn Nà Héc".into()),
            kind: Some("diem_ban_le".into()),
            reported_on: Some("2025-03-04".into()),
            ..Default::default()
        }
    }

    #[test]
    fn valid_input_defaults_to_reported() {
        let h = raw().validate().unwrap();
        assert_eq!(h.status, Status::Reported);
        assert_eq!(h.kind, Kind::DiemBanLe);
    }

    #[test]
    fn vietnamese_labels_are_accepted() {
        let mut r = raw();
        r.kind = Some("Điểm nóng".into());
        r.status = Some("đã triệt xóa".into());
        let h = r.validate().unwrap();
        assert_eq!((h.kind, h.status), (Kind::DiemNong, Status::Eliminated));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let r = RawHotspot {
            lon: Some(500.0),
            lat: Some(21.0),
            kind: Some("quán".into()),
            reported_on: Some("2025-13-01".into()),
            ..Default::default()
        };
        let errs = r.validate().unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        for f in ["lon", "name", "kind", "reported_on"] {
            assert!(fields.contains(&f), "{f} missing from {errs:?}");
        }
    }

    #[test]
    fn overlong_notes_are_refused() {
        let mut r = raw();
        r.notes = Some("x".repeat(MAX_NOTES + 1));
        assert_eq!(r.validate().unwrap_err()[0].field, "notes");
    }
}
