//! Bulk hotspot import: CSV, GeoJSON and KML parsed into validated rows, all-or-nothing.
//!
//! Parsing and validation do no IO and link no GDAL: projected coordinates go through the
//! [`PointTransform`] the caller supplies (GDAL/OSR in `ingest::crs`). A file with any bad row is
//! refused whole, with every bad row named, so nothing is half-imported.

use serde::Serialize;

use super::model::{FieldError, HotspotInput, RawHotspot};

/// Import file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    GeoJson,
    Kml,
}

impl Format {
    pub fn from_name(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "csv" | "text/csv" => Some(Format::Csv),
            "geojson" | "json" | "application/geo+json" | "application/json" => {
                Some(Format::GeoJson)
            }
            "kml" | "application/vnd.google-earth.kml+xml" => Some(Format::Kml),
            _ => None,
        }
    }

    /// Guesses from a file name's extension.
    pub fn from_path(path: &std::path::Path) -> Option<Format> {
        path.extension()
            .and_then(|e| e.to_str())
            .and_then(Format::from_name)
    }
}

/// Converts coordinates from a named CRS into WGS 84 longitude/latitude, in place.
pub trait PointTransform {
    fn to_wgs84(&self, points: &mut [(f64, f64)]) -> Result<(), String>;
}

/// One bad row of an import and what was wrong with it. `row` is the CSV line number (header = 1) or the
/// 1-based feature / placemark number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub row: usize,
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "row {}: {}: {}", self.row, self.field, self.message)
    }
}

/// "2 bad rows (4 errors)": a row can break several rules, and people fix rows.
pub fn bad_rows(errors: &[RowError]) -> String {
    let rows = errors
        .iter()
        .map(|e| e.row)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "{} ({})",
        plural(rows, "bad row", "bad rows"),
        plural(errors.len(), "error", "errors")
    )
}

/// Why an import was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file is not valid {format}: {message}")]
    Unreadable {
        format: &'static str,
        message: String,
    },
    #[error("{}; nothing was imported. First: {}", bad_rows(.0), .0.first().map(|e| e.to_string()).unwrap_or_default())]
    Rows(Vec<RowError>),
    #[error("the file has no hotspots")]
    Empty,
    #[error("the file has {rows} rows; the limit is {limit}")]
    TooMany { rows: usize, limit: usize },
    #[error("coordinate transformation failed: {0}")]
    Transform(String),
}

/// A parsed row before validation.
struct Row {
    number: usize,
    raw: RawHotspot,
    /// Field errors found while parsing (bad numbers, unknown fields).
    errors: Vec<FieldError>,
}

/// Parses and validates a whole file; returns every hotspot or every problem.
pub fn parse(
    bytes: &[u8],
    format: Format,
    transform: Option<&dyn PointTransform>,
    max_rows: usize,
) -> Result<Vec<HotspotInput>, ImportError> {
    let (rows, errors) = parse_rows(bytes, format, transform, max_rows)?;
    if errors.is_empty() {
        Ok(rows.into_iter().map(|(_, h)| h).collect())
    } else {
        Err(ImportError::Rows(errors))
    }
}

/// Valid rows with their row numbers, and the errors of the others.
pub type ParsedRows = (Vec<(usize, HotspotInput)>, Vec<RowError>);

/// Parses a whole file into the valid rows (with their row numbers) and the errors of the others,
/// so callers can add their own checks (jurisdiction) and still report every bad row at once.
pub fn parse_rows(
    bytes: &[u8],
    format: Format,
    transform: Option<&dyn PointTransform>,
    max_rows: usize,
) -> Result<ParsedRows, ImportError> {
    let text = std::str::from_utf8(bytes).map_err(|e| ImportError::Unreadable {
        format: "UTF-8 text",
        message: format!(
            "invalid UTF-8 at byte {} (save the file as UTF-8)",
            e.valid_up_to()
        ),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = match format {
        Format::Csv => parse_csv(text)?,
        Format::GeoJson => parse_geojson(text)?,
        Format::Kml => parse_kml(text)?,
    };
    if rows.is_empty() {
        return Err(ImportError::Empty);
    }
    if rows.len() > max_rows {
        return Err(ImportError::TooMany {
            rows: rows.len(),
            limit: max_rows,
        });
    }
    if let Some(t) = transform {
        let idx: Vec<usize> = (0..rows.len())
            .filter(|&i| rows[i].raw.lon.is_some() && rows[i].raw.lat.is_some())
            .collect();
        let mut pts: Vec<(f64, f64)> = idx
            .iter()
            .map(|&i| {
                (
                    rows[i].raw.lon.unwrap_or(0.0),
                    rows[i].raw.lat.unwrap_or(0.0),
                )
            })
            .collect();
        t.to_wgs84(&mut pts).map_err(ImportError::Transform)?;
        for (&i, (x, y)) in idx.iter().zip(pts) {
            rows[i].raw.lon = Some(x);
            rows[i].raw.lat = Some(y);
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    let mut errors = Vec::new();
    for row in rows {
        let Row {
            number,
            raw,
            errors: mut row_errors,
        } = row;
        match raw.validate() {
            Ok(h) if row_errors.is_empty() => out.push((number, h)),
            Ok(_) => {}
            Err(e) => row_errors.extend(e),
        }
        errors.extend(row_errors.into_iter().map(|e| RowError {
            row: number,
            field: e.field,
            message: e.message,
        }));
    }
    Ok((out, errors))
}

/// Canonical field for a column or property name (English codes and Vietnamese headers).
fn canonical(name: &str) -> Option<&'static str> {
    let n = name.trim().to_lowercase().replace([' ', '-'], "_");
    Some(match n.as_str() {
        "lon" | "lng" | "long" | "longitude" | "kinh_do" | "kinh_độ" => "lon",
        "lat" | "latitude" | "vi_do" | "vĩ_độ" => "lat",
        "x" | "easting" => "x",
        "y" | "northing" => "y",
        "name" | "ten" | "tên" | "ten_diem" | "tên_điểm" => "name",
        "kind" | "loai" | "loại" => "kind",
        "status" | "trang_thai" | "trạng_thái" => "status",
        "address" | "dia_chi" | "địa_chỉ" => "address",
        "source" | "nguon" | "nguồn" | "nguon_tin" | "nguồn_tin" => "source",
        "notes" | "note" | "ghi_chu" | "ghi_chú" => "notes",
        "reported_on" | "ngay_phat_hien" | "ngày_phát_hiện" => "reported_on",
        "stt" => "stt",
        _ => return None,
    })
}

const KNOWN_COLUMNS: &str =
    "lon, lat (or x, y with a CRS), name, kind, status, address, source, notes, reported_on";

fn set_field(
    raw: &mut RawHotspot,
    field: &str,
    value: String,
    decimal_comma: bool,
    errors: &mut Vec<FieldError>,
) {
    let value_t = value.trim();
    let num = |errors: &mut Vec<FieldError>| -> Option<f64> {
        if value_t.is_empty() {
            return None;
        }
        let v = if decimal_comma {
            value_t.replace(',', ".")
        } else {
            value_t.to_string()
        };
        match v.parse::<f64>() {
            Ok(x) => Some(x),
            Err(_) => {
                errors.push(FieldError::new(
                    field,
                    format!("{value_t:?} is not a number"),
                ));
                None
            }
        }
    };
    match field {
        "lon" | "x" => raw.lon = num(errors),
        "lat" | "y" => raw.lat = num(errors),
        "name" => raw.name = Some(value),
        "kind" => raw.kind = Some(value),
        "status" => raw.status = Some(value),
        "address" => raw.address = Some(value),
        "source" => raw.source = Some(value),
        "notes" => raw.notes = Some(value),
        "reported_on" => raw.reported_on = Some(value),
        _ => {}
    }
}

fn parse_csv(text: &str) -> Result<Vec<Row>, ImportError> {
    let first = text.lines().next().unwrap_or("");
    let delimiter = if first.contains(';') && !first.contains(',') {
        b';'
    } else if first.contains('\t') && !first.contains(',') {
        b'\t'
    } else {
        b','
    };
    let decimal_comma = delimiter != b',';
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| ImportError::Unreadable {
            format: "CSV",
            message: e.to_string(),
        })?
        .clone();
    let mut fields = Vec::with_capacity(headers.len());
    let mut header_errors = Vec::new();
    for h in headers.iter() {
        match canonical(h) {
            Some(f) => fields.push(f),
            None => {
                header_errors.push(RowError {
                    row: 1,
                    field: h.to_string(),
                    message: format!("unknown column {h:?}; known columns: {KNOWN_COLUMNS}"),
                });
                fields.push("");
            }
        }
    }
    let has = |f: &str| fields.contains(&f);
    if !((has("lon") && has("lat")) || (has("x") && has("y"))) {
        header_errors.push(RowError {
            row: 1,
            field: "header".into(),
            message: "needs `lon` and `lat` columns (WGS 84), or `x` and `y` with a CRS".into(),
        });
    }
    if !header_errors.is_empty() {
        return Err(ImportError::Rows(header_errors));
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let number = i + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let raw = RawHotspot {
                    name: Some("?".into()),
                    ..Default::default()
                };
                rows.push(Row {
                    number,
                    raw,
                    errors: vec![FieldError::new("csv", e.to_string())],
                });
                continue;
            }
        };
        if record.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        let mut raw = RawHotspot::default();
        let mut errors = Vec::new();
        if record.len() != fields.len() {
            errors.push(FieldError::new(
                "csv",
                format!(
                    "has {} fields; the header has {}",
                    record.len(),
                    fields.len()
                ),
            ));
        }
        for (field, value) in fields.iter().zip(record.iter()) {
            set_field(
                &mut raw,
                field,
                value.to_string(),
                decimal_comma,
                &mut errors,
            );
        }
        rows.push(Row {
            number,
            raw,
            errors,
        });
    }
    Ok(rows)
}

fn parse_geojson(text: &str) -> Result<Vec<Row>, ImportError> {
    let gj: geojson::GeoJson =
        text.parse()
            .map_err(|e: geojson::Error| ImportError::Unreadable {
                format: "GeoJSON",
                message: e.to_string(),
            })?;
    let features = match gj {
        geojson::GeoJson::FeatureCollection(fc) => fc.features,
        geojson::GeoJson::Feature(f) => vec![f],
        geojson::GeoJson::Geometry(_) => {
            return Err(ImportError::Unreadable {
                format: "GeoJSON",
                message: "expected a Feature or FeatureCollection, got a bare Geometry".into(),
            });
        }
    };
    let mut rows = Vec::with_capacity(features.len());
    for (i, f) in features.into_iter().enumerate() {
        let mut raw = RawHotspot::default();
        let mut errors = Vec::new();
        match f.geometry.map(|g| g.value) {
            Some(geojson::Value::Point(c)) if c.len() >= 2 => {
                raw.lon = Some(c[0]);
                raw.lat = Some(c[1]);
            }
            Some(other) => errors.push(FieldError::new(
                "geometry",
                format!("must be a Point, got {}", other.type_name()),
            )),
            None => errors.push(FieldError::new("geometry", "is missing")),
        }
        for (k, v) in f.properties.unwrap_or_default() {
            let Some(field) = canonical(&k).filter(|f| !matches!(*f, "lon" | "lat" | "x" | "y"))
            else {
                errors.push(FieldError::new(k.clone(), "unknown property; known: name, kind, status, address, source, notes, reported_on".to_string()));
                continue;
            };
            let value = match v {
                serde_json::Value::Null => continue,
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            set_field(&mut raw, field, value, false, &mut errors);
        }
        rows.push(Row {
            number: i + 1,
            raw,
            errors,
        });
    }
    Ok(rows)
}

/// The `kml` crate (0.15) ignores the end of input inside a `Placemark` and loops forever on a
/// truncated file (found by `fuzz/`'s `hotspot_import`), so the text must be well-formed XML —
/// every element closed — before it is handed over.
fn check_well_formed(text: &str) -> Result<(), String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut depth = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::Start(_)) => depth += 1,
            Ok(Event::End(_)) => {
                depth = depth
                    .checked_sub(1)
                    .ok_or("an end tag without its start tag")?;
            }
            Ok(Event::Eof) if depth == 0 => return Ok(()),
            Ok(Event::Eof) => {
                return Err(format!(
                    "the file ends inside {depth} unclosed element(s); is it cut off?"
                ));
            }
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}

fn parse_kml(text: &str) -> Result<Vec<Row>, ImportError> {
    check_well_formed(text).map_err(|message| ImportError::Unreadable {
        format: "KML",
        message,
    })?;
    // The `kml` crate panics on some malformed documents (a `<Point>` without coordinates:
    // found by fuzzing); a panic there is a refusal of the file, not a crash.
    let parsed = std::panic::catch_unwind(|| text.parse::<kml::Kml<f64>>()).map_err(|_| {
        ImportError::Unreadable {
            format: "KML",
            message: "the KML structure is malformed (a geometry without coordinates?)".into(),
        }
    })?;
    let kml: kml::Kml<f64> = parsed.map_err(|e: kml::Error| ImportError::Unreadable {
        format: "KML",
        message: e.to_string(),
    })?;
    let mut placemarks = Vec::new();
    collect_placemarks(kml, &mut placemarks);
    let mut rows = Vec::with_capacity(placemarks.len());
    for (i, p) in placemarks.into_iter().enumerate() {
        let mut raw = RawHotspot::default();
        let mut errors = Vec::new();
        match p.geometry {
            Some(kml::types::Geometry::Point(pt)) => {
                raw.lon = Some(pt.coord.x);
                raw.lat = Some(pt.coord.y);
            }
            Some(_) => errors.push(FieldError::new("geometry", "must be a Point")),
            None => errors.push(FieldError::new("geometry", "is missing")),
        }
        raw.name = p.name;
        raw.notes = p.description;
        let mut data = Vec::new();
        for child in &p.children {
            extended_data(child, &mut data);
        }
        for (k, v) in data {
            match canonical(&k).filter(|f| !matches!(*f, "lon" | "lat" | "x" | "y")) {
                Some(field) => set_field(&mut raw, field, v, false, &mut errors),
                None => errors.push(FieldError::new(k, "unknown ExtendedData field; known: kind, status, address, source, notes, reported_on")),
            }
        }
        rows.push(Row {
            number: i + 1,
            raw,
            errors,
        });
    }
    Ok(rows)
}

fn collect_placemarks(k: kml::Kml<f64>, out: &mut Vec<kml::types::Placemark<f64>>) {
    match k {
        kml::Kml::KmlDocument(d) => d
            .elements
            .into_iter()
            .for_each(|e| collect_placemarks(e, out)),
        kml::Kml::Document { elements, .. } => elements
            .into_iter()
            .for_each(|e| collect_placemarks(e, out)),
        kml::Kml::Folder(f) => f
            .elements
            .into_iter()
            .for_each(|e| collect_placemarks(e, out)),
        kml::Kml::Placemark(p) => out.push(p),
        _ => {}
    }
}

/// Collects `<Data name="k"><value>v</value></Data>` and `<SimpleData name="k">v</SimpleData>` pairs.
fn extended_data(e: &kml::types::Element, out: &mut Vec<(String, String)>) {
    match e.name.as_str() {
        "Data" => {
            if let Some(name) = e.attrs.get("name") {
                let v = e
                    .children
                    .iter()
                    .find(|c| c.name == "value")
                    .and_then(|c| c.content.clone())
                    .unwrap_or_default();
                out.push((name.clone(), v));
            }
        }
        "SimpleData" => {
            if let Some(name) = e.attrs.get("name") {
                out.push((name.clone(), e.content.clone().unwrap_or_default()));
            }
        }
        _ => e.children.iter().for_each(|c| extended_data(c, out)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzzing (`fuzz/corpus-seeds/hotspot_import/kml-point-without-coordinates`): a
    /// `<Point>` without coordinates made the `kml` crate panic (an index out of bounds).
    #[test]
    fn kml_point_without_coordinates_is_refused_not_a_panic() {
        let text = concat!(
            r#"<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark>"#,
            r#"<name>a</name><Point></Point></Placemark></Document></kml>"#
        );
        let got = std::panic::catch_unwind(|| parse(text.as_bytes(), Format::Kml, None, 100))
            .expect("parsing a KML point without coordinates panicked");
        assert!(
            matches!(got, Err(ImportError::Unreadable { format: "KML", .. })),
            "{got:?}"
        );
    }

    /// Found by fuzzing (`fuzz/corpus-seeds/hotspot_import/kml-truncated-hang`): a KML file cut
    /// off inside a placemark made the `kml` crate loop forever. Run on a thread so a regression
    /// fails the test instead of hanging it.
    #[test]
    fn truncated_kml_is_refused_not_hung() {
        let text = concat!(
            r#"<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark>"#,
            r#"<name>a</name><ExtendedData><Data name="kind"><value>kta name="reported_o"#
        );
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(parse(text.as_bytes(), Format::Kml, None, 100).map(|r| r.len()));
        });
        let got = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("parsing a truncated KML file did not finish");
        assert!(
            matches!(got, Err(ImportError::Unreadable { format: "KML", .. })),
            "{got:?}"
        );
    }
    use crate::hotspots::{Kind, Status};

    #[test]
    fn csv_with_vietnamese_headers_and_semicolons() {
        let csv = "STT;Kinh độ;Vĩ độ;Tên;Loại;Trạng thái;Ngày phát hiện\n1;105,21;21,80;Điểm A;Điểm nóng;Phát hiện;2025-01-02\n";
        let rows = parse(csv.as_bytes(), Format::Csv, None, 10).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].kind, Kind::DiemNong);
        assert!((rows[0].lon - 105.21).abs() < 1e-9);
    }

    #[test]
    fn csv_bad_rows_are_all_named_and_nothing_returned() {
        let csv = "lon,lat,name,kind\n105.2,21.8,A,diem_ban_le\n999,21.8,B,diem_ban_le\n105.2,21.8,,quan\n";
        let Err(ImportError::Rows(errs)) = parse(csv.as_bytes(), Format::Csv, None, 10) else {
            panic!("expected row errors")
        };
        let rows: Vec<usize> = errs.iter().map(|e| e.row).collect();
        assert!(
            rows.contains(&3) && rows.contains(&4) && !rows.contains(&2),
            "{errs:?}"
        );
        assert!(errs.iter().any(|e| e.row == 4 && e.field == "kind"));
    }

    #[test]
    fn csv_unknown_column_is_refused() {
        let csv = "lon,lat,name,kind,suspect_name\n105.2,21.8,A,diem_ban_le,x\n";
        let Err(ImportError::Rows(errs)) = parse(csv.as_bytes(), Format::Csv, None, 10) else {
            panic!()
        };
        assert_eq!(errs[0].field, "suspect_name");
    }

    #[test]
    fn geojson_rejects_non_points_and_unknown_properties() {
        let gj = r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","geometry":{"type":"Point","coordinates":[105.2,21.8]},"properties":{"name":"A","kind":"boong_ke","status":"eliminated"}},
          {"type":"Feature","geometry":{"type":"LineString","coordinates":[[105,21],[106,22]]},"properties":{"name":"B","kind":"khac"}},
          {"type":"Feature","geometry":{"type":"Point","coordinates":[105.2,21.8]},"properties":{"name":"C","kind":"khac","phone":"0901"}}]}"#;
        let Err(ImportError::Rows(errs)) = parse(gj.as_bytes(), Format::GeoJson, None, 10) else {
            panic!()
        };
        assert!(errs.iter().any(|e| e.row == 2 && e.field == "geometry"));
        assert!(errs.iter().any(|e| e.row == 3 && e.field == "phone"));
        assert!(!errs.iter().any(|e| e.row == 1));
    }

    #[test]
    fn kml_placemarks_with_extended_data() {
        let kml = r#"<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Folder>
<Placemark><name>Tụ điểm bờ suối</name><description>gần cầu</description>
<ExtendedData><Data name="kind"><value>tu_diem_su_dung</value></Data><Data name="status"><value>verifying</value></Data></ExtendedData>
<Point><coordinates>105.3,21.9,0</coordinates></Point></Placemark>
</Folder></Document></kml>"#;
        let rows = parse(kml.as_bytes(), Format::Kml, None, 10).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].kind, Kind::TuDiemSuDung);
        assert_eq!(rows[0].status, Status::Verifying);
        assert_eq!(rows[0].notes.as_deref(), Some("gần cầu"));
    }

    #[test]
    fn transform_is_applied_to_projected_columns() {
        struct Shift;
        impl PointTransform for Shift {
            fn to_wgs84(&self, p: &mut [(f64, f64)]) -> Result<(), String> {
                p.iter_mut().for_each(|(x, y)| {
                    *x /= 1000.0;
                    *y /= 1000.0;
                });
                Ok(())
            }
        }
        let csv = "x,y,name,kind\n105200,21800,A,khac\n";
        let rows = parse(csv.as_bytes(), Format::Csv, Some(&Shift), 10).unwrap();
        assert!((rows[0].lon - 105.2).abs() < 1e-9);
    }

    #[test]
    fn empty_and_oversized_files_are_refused() {
        assert!(matches!(
            parse(b"lon,lat,name,kind\n", Format::Csv, None, 10),
            Err(ImportError::Empty)
        ));
        let csv = "lon,lat,name,kind\n105,21,A,khac\n105,21,B,khac\n";
        assert!(matches!(
            parse(csv.as_bytes(), Format::Csv, None, 1),
            Err(ImportError::TooMany { .. })
        ));
        assert!(matches!(
            parse(b"{not json", Format::GeoJson, None, 1),
            Err(ImportError::Unreadable { .. })
        ));
    }
}
