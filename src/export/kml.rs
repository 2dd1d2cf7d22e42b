//! KML 2.2 for phone map apps and Google Earth: a Document with one style per class (the web
//! map's colours: poppy magenta, cannabis yellow-green) and a Folder of Placemarks, each a
//! MultiGeometry of the waypoint and the plot polygon(s) (just the Point when no outline is
//! usable), named `V<id>`, with the Vietnamese description and the fields as ExtendedData.
//!
//! Written by hand rather than with the `kml` crate's `KmlWriter` (0.15), which we use for
//! reading: it puts `<styleUrl>` after the geometry and all holes in one `<innerBoundaryIs>`
//! (the KML 2.2 schema wants `styleUrl` before the geometry and one `innerBoundaryIs` per hole),
//! writes `extrude`/`tessellate`/`altitudeMode` into every ring, forces an empty `<Icon><href>`
//! into an IconStyle, and orders attributes from a `HashMap`. Hand-written output is schema
//! ordered and deterministic, and shares the escaper with the GPX writer.
//!
//! Descriptions are XML-escaped once, so GIS readers (GDAL, QGIS) get the text back exactly.
//! Google Earth and some phone apps render `<description>` as HTML: text that looks like a tag
//! (`<Sà Phìn>`) would be hidden there. Place names never contain `<`, so we keep the exact text.

use std::fmt::Write as _;

use geo::LineString;

use super::{Clean, ExportFlag, describe, num, prepare, waypoint_name, xml_escape};

/// Style ids and colours (`aabbggrr`): line, fill (translucent), icon.
const STYLES: [(&str, &str, &str, &str); 3] = [
    ("poppy", "ff9f18c0", "80d66be8", "ff9f18c0"),
    ("cannabis", "ff00d5a8", "805cf5d4", "ff00d5a8"),
    ("other", "ff00a5ff", "8000a5ff", "ff00a5ff"),
];

/// The KML document for `flags` (flags [`super::check`] reports are left out). Empty input gives
/// a valid Document with an empty Folder.
pub fn write(flags: &[ExportFlag], title: &str) -> String {
    let (clean, _) = prepare(flags);
    let mut out = String::with_capacity(1024 + clean.len() * 2048);
    out.push_str(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<kml xmlns=\"http://www.opengis.net/kml/2.2\">\n<Document>\n",
    );
    let title = xml_escape(title);
    let _ = writeln!(out, "<name>{title}</name>");
    for (id, line, fill, icon) in STYLES {
        let _ = writeln!(
            out,
            "<Style id=\"{id}\"><IconStyle><color>{icon}</color></IconStyle>\
             <LineStyle><color>{line}</color><width>2</width></LineStyle>\
             <PolyStyle><color>{fill}</color></PolyStyle></Style>"
        );
    }
    let _ = writeln!(out, "<Folder>\n<name>{title}</name>");
    for c in &clean {
        placemark(&mut out, c);
    }
    out.push_str("</Folder>\n</Document>\n</kml>\n");
    out
}

fn placemark(out: &mut String, c: &Clean<'_>) {
    let f = c.flag;
    let style = match f.class.as_str() {
        "poppy" | "cannabis" => f.class.as_str(),
        _ => "other",
    };
    let _ = writeln!(out, "<Placemark id=\"flag-{}\">", f.id);
    let _ = writeln!(out, "  <name>{}</name>", waypoint_name(f.id));
    let _ = writeln!(
        out,
        "  <description>{}</description>",
        xml_escape(&describe(f))
    );
    let _ = writeln!(out, "  <styleUrl>#{style}</styleUrl>");
    out.push_str("  <ExtendedData>\n");
    let mut data = |name: &str, value: &str| {
        let _ = writeln!(
            out,
            "    <Data name=\"{name}\"><value>{}</value></Data>",
            xml_escape(value)
        );
    };
    data("id", &f.id.to_string());
    data("class", &f.class);
    data("status", &f.status);
    data("confidence", &finite(f.confidence));
    data("area_m2", &finite(f.area_m2));
    data("survey", &f.survey_id);
    if let Some(v) = &f.acquired_at {
        data("acquired_at", v);
    }
    if let Some(v) = &f.commune_name {
        data("commune", v);
    }
    if let Some(v) = &f.province_name {
        data("province", v);
    }
    if let Some(v) = f.replanting_of {
        data("replanting_of", &v.to_string());
    }
    out.push_str("  </ExtendedData>\n");
    let [lon, lat] = f.point;
    let point = format!(
        "<Point><coordinates>{},{}</coordinates></Point>",
        num(lon),
        num(lat)
    );
    if c.polygons.is_empty() {
        let _ = writeln!(out, "  {point}\n</Placemark>");
        return;
    }
    let _ = writeln!(out, "  <MultiGeometry>\n    {point}");
    for p in &c.polygons {
        out.push_str("    <Polygon>\n      <outerBoundaryIs>");
        ring(out, p.exterior());
        out.push_str("</outerBoundaryIs>\n");
        for hole in p.interiors() {
            out.push_str("      <innerBoundaryIs>");
            ring(out, hole);
            out.push_str("</innerBoundaryIs>\n");
        }
        out.push_str("    </Polygon>\n");
    }
    out.push_str("  </MultiGeometry>\n</Placemark>\n");
}

fn ring(out: &mut String, r: &LineString<f64>) {
    out.push_str("<LinearRing><coordinates>");
    for (i, c) in r.0.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{},{}", num(c.x), num(c.y));
    }
    out.push_str("</coordinates></LinearRing>");
}

/// A number for ExtendedData; empty when it is not finite.
fn finite(v: f64) -> String {
    if v.is_finite() { num(v) } else { String::new() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::flag;

    #[test]
    fn empty_selection_is_a_valid_empty_document() {
        let kml = write(&[], "Rỗng");
        assert!(kml.contains("<Document>\n<name>Rỗng</name>"));
        assert!(kml.contains("<Folder>\n<name>Rỗng</name>\n</Folder>"));
        assert!(!kml.contains("<Placemark"));
    }

    #[test]
    fn placemark_is_schema_ordered_with_one_inner_boundary_per_hole() {
        let mut f = flag(5);
        f.outline.0[0].interiors_push(vec![
            (105.3166, 23.3636),
            (105.3168, 23.3636),
            (105.3168, 23.3638),
        ]);
        f.class = "hemp<>".into();
        let kml = write(&[f], "t");
        let pos = |s: &str| kml.find(s).unwrap_or_else(|| panic!("{s} missing"));
        assert!(pos("<name>V5</name>") < pos("<description>"));
        assert!(pos("<description>") < pos("<styleUrl>#other</styleUrl>"));
        assert!(pos("<styleUrl>") < pos("<ExtendedData>"));
        assert!(pos("</ExtendedData>") < pos("<MultiGeometry>"));
        assert_eq!(kml.matches("<innerBoundaryIs>").count(), 2);
        assert!(kml.contains("<Data name=\"class\"><value>hemp&lt;&gt;</value></Data>"));
        assert!(kml.contains("<Point><coordinates>105.3161,23.3632</coordinates></Point>"));
    }
}
