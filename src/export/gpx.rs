//! GPX 1.1 for handheld GPS units: one waypoint per flag, named `V<id>` (short ASCII, see
//! [`waypoint_name`]) with the Vietnamese description, and the plot outline as a track with one
//! closed segment per ring, because GPX has no polygons. Written by hand: the format is small and
//! every text value goes through one escaper.

use std::fmt::Write as _;

use super::{Clean, ExportFlag, describe, num, prepare, waypoint_name, xml_escape, xsd_date_time};

/// The GPX document for `flags` (flags [`super::check`] reports are left out). Empty input gives
/// a valid GPX with no waypoints.
pub fn write(flags: &[ExportFlag], title: &str) -> String {
    let (clean, _) = prepare(flags);
    let mut out = String::with_capacity(512 + clean.len() * 1024);
    out.push_str(concat!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
        "<gpx version=\"1.1\" creator=\"Vigil\" xmlns=\"http://www.topografix.com/GPX/1/1\" ",
        "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" ",
        "xsi:schemaLocation=\"http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd\">\n",
        "<metadata>\n"
    ));
    let _ = writeln!(out, "<name>{}</name>", xml_escape(title));
    if let Some([w, s, e, n]) = bounds(&clean) {
        let _ = writeln!(
            out,
            "<bounds minlat=\"{}\" minlon=\"{}\" maxlat=\"{}\" maxlon=\"{}\"/>",
            num(s),
            num(w),
            num(n),
            num(e)
        );
    }
    out.push_str("</metadata>\n");
    // The schema wants every waypoint before the first track.
    for c in &clean {
        waypoint(&mut out, c.flag);
    }
    for c in clean.iter().filter(|c| !c.polygons.is_empty()) {
        track(&mut out, c);
    }
    out.push_str("</gpx>\n");
    out
}

fn waypoint(out: &mut String, f: &ExportFlag) {
    let [lon, lat] = f.point;
    let _ = writeln!(out, "<wpt lat=\"{}\" lon=\"{}\">", num(lat), num(lon));
    if let Some(t) = f.acquired_at.as_deref().and_then(xsd_date_time) {
        let _ = writeln!(out, "  <time>{t}</time>");
    }
    let _ = writeln!(out, "  <name>{}</name>", waypoint_name(f.id));
    let _ = writeln!(out, "  <desc>{}</desc>", xml_escape(&describe(f)));
    let _ = writeln!(out, "  <sym>{}</sym>", symbol(&f.class));
    let _ = writeln!(out, "  <type>{}</type>", xml_escape(&f.class));
    out.push_str("</wpt>\n");
}

fn track(out: &mut String, c: &Clean<'_>) {
    let _ = writeln!(out, "<trk>\n  <name>{}</name>", waypoint_name(c.flag.id));
    let _ = writeln!(out, "  <desc>{}</desc>", xml_escape(&describe(c.flag)));
    out.push_str("  <type>plot outline</type>\n");
    for ring in c
        .polygons
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
    {
        out.push_str("  <trkseg>\n");
        for p in &ring.0 {
            let _ = writeln!(
                out,
                "    <trkpt lat=\"{}\" lon=\"{}\"/>",
                num(p.y),
                num(p.x)
            );
        }
        out.push_str("  </trkseg>\n");
    }
    out.push_str("</trk>\n");
}

/// Garmin symbol names (units that do not know one show their default).
fn symbol(class: &str) -> &'static str {
    match class {
        "poppy" => "Flag, Red",
        "cannabis" => "Flag, Green",
        _ => "Flag, Blue",
    }
}

fn bounds(clean: &[Clean<'_>]) -> Option<[f64; 4]> {
    clean.iter().map(Clean::bbox).reduce(|a, b| {
        [
            a[0].min(b[0]),
            a[1].min(b[1]),
            a[2].max(b[2]),
            a[3].max(b[3]),
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::flag;

    #[test]
    fn empty_selection_is_a_valid_gpx_without_waypoints() {
        let gpx = write(&[], "Trống & <rỗng>");
        assert!(
            gpx.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gpx version=\"1.1\"")
        );
        assert!(gpx.contains("<name>Trống &amp; &lt;rỗng&gt;</name>"));
        assert!(!gpx.contains("<wpt") && !gpx.contains("<trk") && !gpx.contains("<bounds"));
        assert!(gpx.ends_with("</gpx>\n"));
    }

    #[test]
    fn waypoints_come_before_tracks_with_one_closed_segment_per_ring() {
        let mut f = flag(12);
        f.commune_name = Some("Xã \"A&B\" <C>".into());
        let mut no_outline = flag(13);
        no_outline.outline.0.clear();
        let gpx = write(&[f, no_outline], "t");
        let last_wpt = gpx.rfind("</wpt>").unwrap();
        assert!(last_wpt < gpx.find("<trk>").unwrap());
        assert_eq!(gpx.matches("<wpt ").count(), 2);
        assert_eq!(
            gpx.matches("<trk>").count(),
            1,
            "no track without an outline"
        );
        assert_eq!(gpx.matches("<trkseg>").count(), 2, "exterior and hole");
        assert!(gpx.contains("<name>V12</name>"));
        assert!(gpx.contains("<time>2025-01-15T02:30:00Z</time>"));
        assert!(gpx.contains("Xã &quot;A&amp;B&quot; &lt;C&gt;"));
        assert!(gpx.contains("<wpt lat=\"23.3632\" lon=\"105.3161\">"));
        // First and last point of the exterior segment are the same.
        let seg = &gpx[gpx.find("<trkseg>").unwrap()..gpx.find("</trkseg>").unwrap()];
        let pts: Vec<&str> = seg.lines().filter(|l| l.contains("<trkpt")).collect();
        assert_eq!(pts.len(), 5);
        assert_eq!(pts[0], pts[4]);
    }
}
