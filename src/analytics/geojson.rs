//! GeoJSON FeatureCollections (RFC 7946, lon/lat) of the analyses, ready for `api` to serve or
//! `layers` to draw. Property names are stable snake_case; numbers that are not finite (a Gi* of
//! an all-zero map, an island's FDR q-value) are written as `null`.

use geo::{Area, Coord, LineString, Point, Polygon};
use geojson::feature::Id;
use geojson::{Feature, FeatureCollection, Geometry, JsonObject, Value};
use serde_json::json;

use super::{AnalyticsError, Clustering, DensityGrid, EmergingUnit, GiStar, Unit};

fn feature(id: Id, geometry: Value, properties: serde_json::Value) -> Feature {
    let properties: Option<JsonObject> = match properties {
        serde_json::Value::Object(map) => Some(map),
        _ => None,
    };
    Feature {
        bbox: None,
        geometry: Some(Geometry::new(geometry)),
        id: Some(id),
        properties,
        foreign_members: None,
    }
}

fn collection(features: Vec<Feature>) -> FeatureCollection {
    FeatureCollection {
        bbox: None,
        features,
        foreign_members: None,
    }
}

/// One feature per suggested tụ điểm: its convex hull (a Point or LineString when the members do
/// not span an area), with `cluster`, `count`, `radius_m`, `centroid` `[lon, lat]` and the
/// `members`' ids.
pub fn clusters(c: &Clustering) -> FeatureCollection {
    collection(
        c.clusters
            .iter()
            .map(|k| {
                feature(
                    Id::Number(k.id.into()),
                    hull_geometry(&k.hull, k.centroid),
                    json!({
                        "cluster": k.id,
                        "count": k.count,
                        "radius_m": k.radius_m,
                        "centroid": [k.centroid.x(), k.centroid.y()],
                        "members": k.members,
                    }),
                )
            })
            .collect(),
    )
}

fn hull_geometry(hull: &Polygon<f64>, centroid: Point<f64>) -> Value {
    if hull.unsigned_area() > 0.0 {
        return Value::from(hull);
    }
    let mut pts: Vec<Coord<f64>> = hull.exterior().0.clone();
    pts.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
    pts.dedup();
    match (pts.first(), pts.last()) {
        (Some(a), Some(b)) if a != b => Value::from(&LineString(vec![*a, *b])),
        (Some(a), _) => Value::from(&Point::from(*a)),
        _ => Value::from(&centroid),
    }
}

/// One square per grid cell whose density is at least `min_value` (and above 0), with `value`
/// (per km²), `row` and `col`. A whole province at fine cells is millions of features: pick
/// `min_value`, or serve tiles instead.
pub fn density_cells(grid: &DensityGrid, min_value: f32) -> FeatureCollection {
    let mut features = Vec::new();
    for row in 0..grid.rows {
        for col in 0..grid.cols {
            let v = grid.value(row, col);
            if v.is_nan() || v <= 0.0 || v < min_value {
                continue;
            }
            let [w, s, e, n] = grid.cell_bounds(row, col);
            let ring = LineString::from(vec![(w, s), (e, s), (e, n), (w, n), (w, s)]);
            features.push(feature(
                Id::Number((row * grid.cols + col).into()),
                Value::from(&Polygon::new(ring, vec![])),
                json!({ "value": v, "row": row, "col": col }),
            ));
        }
    }
    collection(features)
}

fn same_length(units: &[Unit], got: usize) -> Result<(), AnalyticsError> {
    if units.len() == got {
        Ok(())
    } else {
        Err(AnalyticsError::LengthMismatch {
            what: "results",
            expected: units.len(),
            got,
        })
    }
}

/// One feature per unit with its Gi*: `id`, `value` (the analysed value), `gi`, `z`, `p_norm`,
/// `p_value`, `p_sim`, `p_fdr`, `fdr_significant`, `class` (`hot_99` … `cold_99`), `class_fdr`,
/// `bin` and `bin_fdr` (ArcGIS `Gi_Bin`, −3 … 3), `label` (Vietnamese, of `class_fdr`),
/// `neighbours`.
pub fn gi_star_units(
    units: &[Unit],
    values: &[f64],
    results: &[GiStar],
) -> Result<FeatureCollection, AnalyticsError> {
    same_length(units, results.len())?;
    same_length(units, values.len())?;
    Ok(collection(
        units
            .iter()
            .zip(values)
            .zip(results)
            .map(|((u, v), r)| {
                feature(
                    Id::String(u.id.clone()),
                    Value::from(&u.geometry),
                    json!({
                        "id": u.id,
                        "value": v,
                        "gi": r.g,
                        "z": r.z,
                        "p_norm": r.p_norm,
                        "p_value": r.p_value,
                        "p_sim": r.p_sim,
                        "p_fdr": r.p_fdr,
                        "fdr_significant": r.fdr_significant,
                        "class": r.class.as_str(),
                        "class_fdr": r.class_fdr.as_str(),
                        "bin": r.class.bin(),
                        "bin_fdr": r.class_fdr.bin(),
                        "label": r.class_fdr.label_vi(),
                        "neighbours": r.neighbours,
                    }),
                )
            })
            .collect(),
    ))
}

/// One feature per unit with its emerging pattern: `id`, `pattern` (`new_hot_spot`, …), `label`
/// (Vietnamese), the analysed `values`, `z` and `bins` per period (`periods[t][i]` is unit i's
/// value in period t, as [`super::emerging_hot_spots`] took it), and the trend: `trend`,
/// `trend_z`, `trend_p`, `trend_s`, `trend_tau`.
pub fn emerging_units(
    units: &[Unit],
    periods: &[Vec<f64>],
    results: &[EmergingUnit],
) -> Result<FeatureCollection, AnalyticsError> {
    same_length(units, results.len())?;
    for p in periods {
        same_length(units, p.len())?;
    }
    Ok(collection(
        units
            .iter()
            .zip(results)
            .enumerate()
            .map(|(i, (u, r))| {
                let values: Vec<f64> = periods.iter().map(|p| p[i]).collect();
                feature(
                    Id::String(u.id.clone()),
                    Value::from(&u.geometry),
                    json!({
                        "id": u.id,
                        "pattern": r.pattern.as_str(),
                        "label": r.pattern.label_vi(),
                        "values": values,
                        "z": r.z,
                        "bins": r.bins,
                        "trend": r.trend.trend,
                        "trend_z": r.trend.z,
                        "trend_p": r.trend.p,
                        "trend_s": r.trend.s,
                        "trend_tau": r.trend.tau,
                    }),
                )
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::{
        EmergingOptions, GiStarOptions, IdPoint, KdeParams, Kernel, SpatialWeights, dbscan,
        emerging_hot_spots, gi_star, hex_grid, kernel_density,
    };

    #[test]
    fn clusters_become_hulls_points_and_lines() {
        let p = |id, lon, lat| IdPoint { id, lon, lat };
        let pts = [
            p(1, 105.0, 21.0),
            p(2, 105.0005, 21.0),
            p(3, 105.0, 21.0005),
            p(4, 106.0, 21.0),
            p(5, 106.0003, 21.0),
            p(6, 107.0, 21.0),
        ];
        let c = dbscan(&pts, 100.0, 1).unwrap();
        let fc = clusters(&c);
        let v = serde_json::to_value(&fc).unwrap();
        let kinds: Vec<&str> = v["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["geometry"]["type"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["Polygon", "LineString", "Point"]);
        assert_eq!(v["features"][0]["properties"]["members"], json!([1, 2, 3]));
        assert_eq!(v["features"][2]["properties"]["count"], 1);
    }

    #[test]
    fn gi_star_features_carry_every_field_and_nan_is_null() {
        let units = hex_grid([105.0, 21.0, 105.05, 21.05], 2000.0).unwrap();
        let w = SpatialWeights::contiguity(
            &units.iter().map(|u| u.geometry.clone()).collect::<Vec<_>>(),
            crate::analytics::Contiguity::Queen,
        );
        let values = vec![0.0; units.len()];
        let r = gi_star(&values, &w, &GiStarOptions::default()).unwrap();
        let v = serde_json::to_value(gi_star_units(&units, &values, &r).unwrap()).unwrap();
        let props = &v["features"][0]["properties"];
        assert_eq!(props["gi"], serde_json::Value::Null);
        assert_eq!(props["class"], "not_significant");
        assert_eq!(props["bin"], 0);
        assert_eq!(v["features"][0]["geometry"]["type"], "MultiPolygon");
        assert!(gi_star_units(&units, &values, &r[1..]).is_err());

        let periods = [values.clone(), values];
        let e = emerging_hot_spots(&periods, &w, &EmergingOptions::default()).unwrap();
        let v = serde_json::to_value(emerging_units(&units, &periods, &e).unwrap()).unwrap();
        assert_eq!(v["features"][0]["properties"]["values"], json!([0.0, 0.0]));
        assert_eq!(v["features"][0]["properties"]["pattern"], "no_pattern");
        assert_eq!(v["features"][0]["properties"]["trend"], "no_trend");
    }

    #[test]
    fn density_cells_skip_empty_cells() {
        let params = KdeParams {
            kernel: Kernel::Quartic,
            bandwidth_m: 300.0,
            cell_m: 100.0,
        };
        let g = kernel_density(
            &[[105.005, 21.005]],
            None,
            [105.0, 21.0, 105.01, 21.01],
            &params,
        )
        .unwrap();
        let fc = density_cells(&g, 0.0);
        let nonzero = g.values.iter().filter(|&&v| v > 0.0).count();
        assert_eq!(fc.features.len(), nonzero);
        assert!(nonzero > 0 && nonzero < g.values.len());
    }
}
