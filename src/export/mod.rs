//! Field exports of flagged plots for border-guard teams working offline: waypoints and plot
//! outlines as GPX (handheld GPS units), KML and GeoJSON (phone map apps, GIS), and imagery as an
//! MBTiles package. Pure writers: they take rows the caller selected and return text or write one
//! file; they know nothing of the store, jurisdictions or HTTP.
//!
//! Every vector writer goes through [`prepare`], so all three formats leave out the same bad
//! geometry (non-finite or out-of-range coordinates, rings with fewer than three points) and
//! [`check`] tells the caller what was left out and why.
//!
//! ```
//! use vigil::export::{ExportFlag, gpx};
//! let flag = ExportFlag {
//!     id: 7,
//!     class: "poppy".into(),
//!     status: "new".into(),
//!     confidence: 0.9,
//!     area_m2: 420.0,
//!     point: [105.316, 23.363],
//!     outline: geo::MultiPolygon::new(vec![]),
//!     survey_id: "s1".into(),
//!     acquired_at: None,
//!     commune_name: Some("Xã Lũng Cú".into()),
//!     province_name: None,
//!     replanting_of: None,
//! };
//! let text = gpx::write(&[flag], "Lũng Cú");
//! assert!(text.contains("<name>V7</name>"));
//! ```

use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;

use geo::orient::{Direction, Orient};
use geo::{Coord, LineString, MultiPolygon, Polygon};

use crate::grid::Tile;

pub mod geojson;
pub mod gpx;
pub mod kml;
pub mod mbtiles;

/// A flagged plot as the exports need it (the caller joins names and picks the rows).
#[derive(Debug, Clone, PartialEq)]
pub struct ExportFlag {
    pub id: i64,
    /// `"poppy"` or `"cannabis"`; anything else is written as given.
    pub class: String,
    /// Review status, e.g. `"new"`, `"needs_field_check"`, `"eradicated"`.
    pub status: String,
    /// 0..1.
    pub confidence: f64,
    pub area_m2: f64,
    /// Lon, lat (WGS 84): the waypoint, a point inside or at the plot.
    pub point: [f64; 2],
    /// The plot outline, lon/lat WGS 84.
    pub outline: MultiPolygon<f64>,
    pub survey_id: String,
    /// RFC 3339.
    pub acquired_at: Option<String>,
    /// Vietnamese, e.g. "Xã Lũng Cú".
    pub commune_name: Option<String>,
    pub province_name: Option<String>,
    /// The earlier, eradicated flag this plot re-plants.
    pub replanting_of: Option<i64>,
}

impl ExportFlag {
    /// `[west, south, east, north]` of the waypoint and the usable outline, or `None` when the
    /// waypoint is unusable (see [`check`]). Input for [`mbtiles::tiles_covering`].
    pub fn bbox(&self) -> Option<[f64; 4]> {
        let (clean, _) = clean_flag(self);
        clean.map(|c| c.bbox())
    }
}

/// Why the exports failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("bbox {index} {bbox:?}: {reason}")]
    Bbox {
        index: usize,
        bbox: [f64; 4],
        reason: &'static str,
    },
    #[error("margin {0} m: must be a finite number of metres, at least 0")]
    Margin(f64),
    #[error("zooms {start}..={end}: must be an ascending range within 0..={max}", max = crate::grid::MAX_ZOOM)]
    Zooms { start: u8, end: u8 },
    #[error(
        "the area needs more than {max} tiles (up to {upper_bound} at zooms {start}..={end}); \
         choose fewer zoom levels or a smaller area"
    )]
    TooManyTiles {
        max: usize,
        upper_bound: u128,
        start: u8,
        end: u8,
    },
    #[error("MBTiles metadata: {0}")]
    Meta(String),
    #[error("tile {}/{}/{}: {reason}", tile.z, tile.x, tile.y)]
    Tile { tile: Tile, reason: String },
    #[error("tile {}/{}/{} was given twice", .0.z, .0.x, .0.y)]
    DuplicateTile(Tile),
    #[error("the tile source failed: {0}")]
    Source(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
}

/// Something the vector writers left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    pub id: i64,
    pub part: Part,
    pub problem: Problem,
}

/// Which part of a flag was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The waypoint: the whole flag is left out (every format needs its point).
    Flag,
    /// One ring of the outline (`ring` 0 is the exterior; leaving it out drops the polygon).
    Ring { polygon: usize, ring: usize },
}

/// Why it was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// NaN or infinite coordinate.
    NotFinite,
    /// Longitude outside -180..=180 or latitude outside -90..=90.
    OutOfRange,
    /// Fewer than three distinct points: not an area.
    TooFewPoints,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let problem = match self.problem {
            Problem::NotFinite => "a coordinate is not a finite number",
            Problem::OutOfRange => "a coordinate is outside lon -180..180 / lat -90..90",
            Problem::TooFewPoints => "fewer than three points",
        };
        match self.part {
            Part::Flag => write!(f, "flag {}: waypoint left out, {problem}", self.id),
            Part::Ring { polygon, ring: 0 } => write!(
                f,
                "flag {}: outline polygon {polygon} left out, {problem}",
                self.id
            ),
            Part::Ring { polygon, ring } => write!(
                f,
                "flag {}: hole {ring} of outline polygon {polygon} left out, {problem}",
                self.id
            ),
        }
    }
}

/// A flag ready to write: a usable waypoint and the usable part of its outline, every ring
/// closed, exteriors counter-clockwise and holes clockwise (RFC 7946; the other formats do not mind).
pub(crate) struct Clean<'a> {
    pub flag: &'a ExportFlag,
    pub polygons: Vec<Polygon<f64>>,
}

impl Clean<'_> {
    /// `[west, south, east, north]` of the waypoint and the outline.
    pub fn bbox(&self) -> [f64; 4] {
        let [x, y] = self.flag.point;
        let mut b = [x, y, x, y];
        for c in self.polygons.iter().flat_map(|p| p.exterior().coords()) {
            b = [b[0].min(c.x), b[1].min(c.y), b[2].max(c.x), b[3].max(c.y)];
        }
        b
    }
}

/// What the vector writers will leave out of `flags`, and why (empty when everything is usable).
pub fn check(flags: &[ExportFlag]) -> Vec<Skipped> {
    prepare(flags).1
}

/// Splits `flags` into what can be written and what cannot.
pub(crate) fn prepare(flags: &[ExportFlag]) -> (Vec<Clean<'_>>, Vec<Skipped>) {
    let mut out = Vec::with_capacity(flags.len());
    let mut skipped = Vec::new();
    for f in flags {
        let (clean, mut s) = clean_flag(f);
        out.extend(clean);
        skipped.append(&mut s);
    }
    (out, skipped)
}

fn clean_flag(f: &ExportFlag) -> (Option<Clean<'_>>, Vec<Skipped>) {
    let skip = |part, problem| Skipped {
        id: f.id,
        part,
        problem,
    };
    let [lon, lat] = f.point;
    if let Err(problem) = check_coord(lon, lat) {
        return (None, vec![skip(Part::Flag, problem)]);
    }
    let mut skipped = Vec::new();
    let mut polygons = Vec::new();
    for (pi, p) in f.outline.0.iter().enumerate() {
        let exterior = match clean_ring(p.exterior()) {
            Ok(r) => r,
            Err(problem) => {
                skipped.push(skip(
                    Part::Ring {
                        polygon: pi,
                        ring: 0,
                    },
                    problem,
                ));
                continue;
            }
        };
        let mut holes = Vec::new();
        for (ri, r) in p.interiors().iter().enumerate() {
            match clean_ring(r) {
                Ok(r) => holes.push(r),
                Err(problem) => skipped.push(skip(
                    Part::Ring {
                        polygon: pi,
                        ring: ri + 1,
                    },
                    problem,
                )),
            }
        }
        polygons.push(Polygon::new(exterior, holes).orient(Direction::Default));
    }
    (Some(Clean { flag: f, polygons }), skipped)
}

fn check_coord(lon: f64, lat: f64) -> Result<(), Problem> {
    if !lon.is_finite() || !lat.is_finite() {
        Err(Problem::NotFinite)
    } else if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        Err(Problem::OutOfRange)
    } else {
        Ok(())
    }
}

/// The ring closed, or why it cannot be used.
fn clean_ring(r: &LineString<f64>) -> Result<LineString<f64>, Problem> {
    let mut coords: Vec<Coord<f64>> = Vec::with_capacity(r.0.len() + 1);
    for c in &r.0 {
        check_coord(c.x, c.y)?;
        if coords.last() != Some(c) {
            coords.push(*c);
        }
    }
    if coords.len() > 1 && coords.first() == coords.last() {
        coords.pop();
    }
    if coords.len() < 3 {
        return Err(Problem::TooFewPoints);
    }
    coords.push(coords[0]);
    Ok(LineString(coords))
}

/// The short ASCII name every format gives a flag: `V` and the id, so a team can say "V123" on
/// the radio and find it in the web map (`#123`). Up to id 99 999 it fits the 6 characters older
/// Garmin units keep.
pub fn waypoint_name(id: i64) -> String {
    format!("V{id}")
}

/// The Vietnamese description field teams read on the device, e.g. "Nghi trồng cây thuốc phiện;
/// diện tích ~1.234 m²; độ tin cậy 87 %; trạng thái: Mới, chưa xem xét; Xã Lũng Cú, Hà Giang".
/// Non-finite numbers are left out rather than printed as `NaN`.
pub fn describe(f: &ExportFlag) -> String {
    let mut parts: Vec<Cow<'_, str>> = vec![class_vi(&f.class)];
    if f.area_m2.is_finite() && f.area_m2 >= 0.0 {
        parts.push(
            format!(
                "diện tích ~{} m²",
                group_thousands(f.area_m2.round() as u64)
            )
            .into(),
        );
    }
    if f.confidence.is_finite() {
        let pct = (f.confidence.clamp(0.0, 1.0) * 100.0).round();
        parts.push(format!("độ tin cậy {pct} %").into());
    }
    parts.push(format!("trạng thái: {}", status_vi(&f.status)).into());
    let place: Vec<&str> = [&f.commune_name, &f.province_name]
        .into_iter()
        .flatten()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    if !place.is_empty() {
        parts.push(place.join(", ").into());
    }
    if let Some(earlier) = f.replanting_of {
        parts.push(format!("tái trồng trên lô đã phá bỏ {}", waypoint_name(earlier)).into());
    }
    parts.join("; ")
}

fn class_vi(class: &str) -> Cow<'_, str> {
    match class {
        "poppy" => "Nghi trồng cây thuốc phiện".into(),
        "cannabis" => "Nghi trồng cần sa".into(),
        other => format!("Nghi trồng cây có chất ma túy ({other})").into(),
    }
}

/// The review status's Vietnamese label (`review::Status`); unknown codes are shown as stored.
fn status_vi(status: &str) -> &str {
    crate::review::Status::from_code(status).map_or(status, |s| s.label_vi())
}

/// `1234567` → `"1.234.567"` (Vietnamese groups thousands with a dot).
fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('.');
        }
        out.push(ch);
    }
    out
}

/// Text for XML content and attribute values: the five special characters escaped, and
/// characters XML 1.0 forbids even escaped (controls other than tab, LF, CR; U+FFFE, U+FFFF)
/// dropped, so a stray control character in a name cannot make the whole file unreadable.
pub(crate) fn xml_escape(s: &str) -> Cow<'_, str> {
    let plain = |c: char| !matches!(c, '&' | '<' | '>' | '"' | '\'') && xml_allowed(c) && c != '\r';
    if s.chars().all(plain) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // A literal CR would be normalised away by the parser; keep it as written.
            '\r' => out.push_str("&#13;"),
            c if xml_allowed(c) => out.push(c),
            _ => {}
        }
    }
    Cow::Owned(out)
}

fn xml_allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// A coordinate as text: the shortest decimal that reads back as the same `f64`, never in
/// exponent notation (which KML and GPX readers do not all accept).
pub(crate) fn num(v: f64) -> String {
    // `Display` for f64 is shortest-round-trip and never uses an exponent.
    let s = v.to_string();
    if s == "-0" { "0".into() } else { s }
}

/// An RFC 3339 timestamp as an `xsd:dateTime` in UTC, or `None` if it does not parse.
pub(crate) fn xsd_date_time(rfc3339: &str) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    let t = time::OffsetDateTime::parse(rfc3339.trim(), &Rfc3339).ok()?;
    t.to_offset(time::UtcOffset::UTC)
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .ok()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use geo::polygon;

    /// A small poppy plot near Lũng Cú with a hole.
    pub fn flag(id: i64) -> ExportFlag {
        ExportFlag {
            id,
            class: "poppy".into(),
            status: "new".into(),
            confidence: 0.873,
            area_m2: 1234.4,
            point: [105.3161, 23.3632],
            outline: MultiPolygon::new(vec![polygon![
                exterior: [(x: 105.316, y: 23.363), (x: 105.317, y: 23.363), (x: 105.317, y: 23.364), (x: 105.316, y: 23.364)],
                interiors: [[(x: 105.3163, y: 23.3633), (x: 105.3165, y: 23.3633), (x: 105.3165, y: 23.3635)]],
            ]]),
            survey_id: "survey-1".into(),
            acquired_at: Some("2025-01-15T09:30:00+07:00".into()),
            commune_name: Some("Xã Lũng Cú".into()),
            province_name: Some("Hà Giang".into()),
            replanting_of: None,
        }
    }

    #[test]
    fn description_is_vietnamese_and_complete() {
        let mut f = flag(12);
        f.replanting_of = Some(4);
        assert_eq!(
            describe(&f),
            "Nghi trồng cây thuốc phiện; diện tích ~1.234 m²; độ tin cậy 87 %; \
             trạng thái: Mới, chưa xem xét; Xã Lũng Cú, Hà Giang; tái trồng trên lô đã phá bỏ V4"
        );
        f.class = "cannabis".into();
        f.status = "needs_field_check".into();
        f.area_m2 = f64::NAN;
        f.confidence = f64::INFINITY;
        f.commune_name = None;
        f.replanting_of = None;
        assert_eq!(
            describe(&f),
            "Nghi trồng cần sa; trạng thái: Cần kiểm tra thực địa; Hà Giang"
        );
    }

    #[test]
    fn thousands_are_grouped_with_dots() {
        for (n, s) in [
            (0, "0"),
            (999, "999"),
            (1000, "1.000"),
            (1234567, "1.234.567"),
        ] {
            assert_eq!(group_thousands(n), s);
        }
    }

    #[test]
    fn xml_escape_escapes_and_drops_forbidden_characters() {
        assert!(matches!(xml_escape("Xã Lũng Cú"), Cow::Borrowed(_)));
        assert_eq!(
            xml_escape("a&b<c>d\"e'f\u{0}g\u{1b}h\r\ni\u{FFFE}"),
            "a&amp;b&lt;c&gt;d&quot;e&apos;fgh&#13;\ni"
        );
    }

    #[test]
    fn numbers_round_trip_without_exponents() {
        for v in [105.3161, 23.363_000_000_000_1, 1e-7, -0.0, 180.0] {
            let s = num(v);
            assert!(!s.contains('e'), "{s}");
            assert_eq!(s.parse::<f64>().unwrap(), if v == 0.0 { 0.0 } else { v });
        }
    }

    #[test]
    fn timestamps_become_utc_date_times() {
        assert_eq!(
            xsd_date_time("2025-01-15T09:30:00+07:00").as_deref(),
            Some("2025-01-15T02:30:00Z")
        );
        assert_eq!(xsd_date_time("15/01/2025"), None);
    }

    #[test]
    fn bad_geometry_is_left_out_with_a_reason() {
        let mut nan_point = flag(1);
        nan_point.point = [f64::NAN, 23.0];
        let mut far = flag(2);
        far.point = [200.0, 23.0];
        let mut bad_rings = flag(3);
        bad_rings.outline.0[0].interiors_push(vec![
            (105.0, f64::NAN),
            (105.1, 23.0),
            (105.2, 23.1),
        ]);
        bad_rings
            .outline
            .0
            .push(polygon![(x: 105.0, y: 23.0), (x: 105.1, y: 23.0), (x: 105.0, y: 23.0)]);
        let flags = [nan_point, far, bad_rings, flag(4)];
        let (clean, skipped) = prepare(&flags);
        assert_eq!(clean.iter().map(|c| c.flag.id).collect::<Vec<_>>(), [3, 4]);
        assert_eq!(clean[0].polygons.len(), 1);
        assert_eq!(clean[0].polygons[0].interiors().len(), 1);
        let why: Vec<(i64, Part, Problem)> =
            skipped.iter().map(|s| (s.id, s.part, s.problem)).collect();
        assert_eq!(
            why,
            [
                (1, Part::Flag, Problem::NotFinite),
                (2, Part::Flag, Problem::OutOfRange),
                (
                    3,
                    Part::Ring {
                        polygon: 0,
                        ring: 2
                    },
                    Problem::NotFinite
                ),
                (
                    3,
                    Part::Ring {
                        polygon: 1,
                        ring: 0
                    },
                    Problem::TooFewPoints
                ),
            ]
        );
        assert_eq!(
            skipped[2].to_string(),
            "flag 3: hole 2 of outline polygon 0 left out, a coordinate is not a finite number"
        );
        assert_eq!(check(&flags), skipped);
    }

    #[test]
    fn rings_are_closed_deduplicated_and_oriented() {
        let mut f = flag(1);
        // Clockwise exterior with a repeated point (geo closes rings itself).
        f.outline = MultiPolygon::new(vec![Polygon::new(
            LineString::from(vec![
                (0.0, 0.0),
                (0.0, 1.0),
                (0.0, 1.0),
                (1.0, 1.0),
                (1.0, 0.0),
            ]),
            vec![],
        )]);
        let flags = [f];
        let (clean, skipped) = prepare(&flags);
        assert!(skipped.is_empty());
        let ring = clean[0].polygons[0].exterior();
        assert!(ring.is_closed());
        assert_eq!(ring.0.len(), 5);
        use geo::Winding;
        assert!(ring.is_ccw());
        assert_eq!(clean[0].bbox(), [0.0, 0.0, 105.3161, 23.3632]);
    }
}
