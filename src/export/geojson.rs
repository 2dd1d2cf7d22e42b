//! GeoJSON (RFC 7946) for GIS and phone apps: a FeatureCollection with the plot outline as a
//! MultiPolygon (exteriors counter-clockwise), the waypoint as `lon`/`lat` properties, the
//! review fields and the Vietnamese description. A flag whose whole outline was unusable keeps
//! its feature with a `null` geometry, so the layer stays all polygons.

use serde_json::{Value, json};

use super::{Clean, ExportFlag, describe, prepare, waypoint_name};

/// The FeatureCollection for `flags` (flags [`super::check`] reports are left out). Empty input
/// gives a valid, empty FeatureCollection.
pub fn write(flags: &[ExportFlag]) -> String {
    let (clean, _) = prepare(flags);
    let features: Vec<Value> = clean.iter().map(feature).collect();
    json!({ "type": "FeatureCollection", "features": features }).to_string()
}

fn feature(c: &Clean<'_>) -> Value {
    let f = c.flag;
    let geometry = if c.polygons.is_empty() {
        Value::Null
    } else {
        let coords: Vec<Vec<Vec<[f64; 2]>>> = c
            .polygons
            .iter()
            .map(|p| {
                std::iter::once(p.exterior())
                    .chain(p.interiors())
                    .map(|r| r.0.iter().map(|c| [c.x, c.y]).collect())
                    .collect()
            })
            .collect();
        json!({ "type": "MultiPolygon", "coordinates": coords })
    };
    // serde_json writes non-finite numbers as null, which is what a missing value should be.
    json!({
        "type": "Feature",
        "id": f.id,
        "geometry": geometry,
        "properties": {
            "id": f.id,
            "name": waypoint_name(f.id),
            "class": f.class,
            "status": f.status,
            "confidence": f.confidence,
            "area_m2": f.area_m2,
            "survey_id": f.survey_id,
            "acquired_at": f.acquired_at,
            "commune": f.commune_name,
            "province": f.province_name,
            "replanting_of": f.replanting_of,
            "description": describe(f),
            "lon": f.point[0],
            "lat": f.point[1],
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::flag;

    #[test]
    fn empty_selection_is_an_empty_feature_collection() {
        let v: Value = serde_json::from_str(&write(&[])).unwrap();
        assert_eq!(v, json!({ "type": "FeatureCollection", "features": [] }));
    }

    #[test]
    fn outline_is_the_geometry_and_odd_numbers_become_null() {
        let mut f = flag(9);
        f.confidence = f64::NAN;
        let mut bare = flag(10);
        bare.outline.0.clear();
        let v: Value = serde_json::from_str(&write(&[f, bare])).unwrap();
        let g = &v["features"][0]["geometry"];
        assert_eq!(g["type"], "MultiPolygon");
        assert_eq!(
            g["coordinates"][0].as_array().unwrap().len(),
            2,
            "exterior and hole"
        );
        assert_eq!(g["coordinates"][0][0][0], json!([105.316, 23.363]));
        let p = &v["features"][0]["properties"];
        assert_eq!(p["confidence"], Value::Null);
        assert_eq!(p["lon"], 105.3161);
        assert_eq!(p["commune"], "Xã Lũng Cú");
        assert_eq!(v["features"][1]["geometry"], Value::Null);
    }
}
