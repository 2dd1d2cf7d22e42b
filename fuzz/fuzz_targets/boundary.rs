//! Boundary validation: GeoJSON geometries (text input) or rings of raw f64s (NaN, infinities,
//! bow-ties). An accepted boundary has only finite lon/lat coordinates and is a valid geometry.
#![no_main]
use geo::{Coord, CoordsIter, LineString, MultiPolygon, Polygon, Validation};
use libfuzzer_sys::fuzz_target;
use vigil::boundaries::{Boundary, Level, validate};

fn check(geometry: MultiPolygon<f64>) {
    let b = Boundary {
        level: Level::Province,
        code: "99".into(),
        name: "fuzz".into(),
        parent: None,
        geometry,
    };
    if validate(&b).is_ok() {
        for c in b.geometry.coords_iter() {
            assert!(c.x.is_finite() && c.y.is_finite(), "{c:?}");
            assert!(
                (-180.0..=180.0).contains(&c.x) && (-90.0..=90.0).contains(&c.y),
                "{c:?}"
            );
        }
        assert!(b.geometry.is_valid());
    }
}

fuzz_target!(|data: &[u8]| {
    if data.first() == Some(&b'{') {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        let Ok(g) = text.parse::<geojson::Geometry>() else {
            return;
        };
        let mp = match g.value {
            v @ geojson::Value::Polygon(_) => Polygon::try_from(v).map(|p| MultiPolygon(vec![p])),
            v => MultiPolygon::try_from(v),
        };
        if let Ok(mp) = mp {
            check(mp);
        }
        return;
    }
    // Raw coordinates: 16 bytes a point, closed into one ring.
    let mut pts: Vec<Coord<f64>> = data
        .chunks_exact(16)
        .take(64)
        .map(|c| Coord {
            x: f64::from_le_bytes(c[..8].try_into().unwrap()),
            y: f64::from_le_bytes(c[8..].try_into().unwrap()),
        })
        .collect();
    if pts.len() < 3 {
        return;
    }
    pts.push(pts[0]);
    check(MultiPolygon(vec![Polygon::new(LineString(pts), vec![])]));
});
