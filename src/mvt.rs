//! Vector tiles (Mapbox Vector Tile 2.1, OGC API – Tiles' `WebMercatorQuad`): points in a tile,
//! or, where they are too many to draw one by one, counts per cell of a grid over the tile with
//! their breakdown — so the whole country draws at every zoom and the counts add up. Encoded by
//! `geozero`'s MVT writer (protobuf via `prost`), not by hand.

use geozero::ToMvt;
use std::collections::HashMap;

use geozero::mvt::{Message, Tile, TileValue, tile};

/// Tile coordinate space (the MVT default).
pub const EXTENT: u32 = 4096;
/// Cells per tile side when points are aggregated.
pub const GRID: usize = 128;

/// A feature's properties, in order.
pub type Props = Vec<(String, TileValue)>;

/// One shape to draw: a geometry in lon/lat and its properties.
pub struct Shape {
    pub geometry: geo::Geometry<f64>,
    pub props: Props,
}

/// Shapes as a tile over `bounds` (Web Mercator): each projected, clipped to the tile with a
/// margin of 1/64 of it (so strokes meet across tile edges), simplified to a tenth of a tile pixel
/// — 4096 to a tile side —; shapes that vanish are left out.
pub fn encode_shapes(layer: &str, bounds: [f64; 4], shapes: &[Shape]) -> Result<Vec<u8>, String> {
    use geo::{BooleanOps, MapCoords, Simplify};
    let [w, s, e, n] = bounds;
    let m = (e - w) / 64.0;
    let clip = geo::Rect::new(
        geo::coord! { x: w - m, y: s - m },
        geo::coord! { x: e + m, y: n + m },
    )
    .to_polygon();
    let tolerance = (e - w) / f64::from(EXTENT) / 10.0;
    let mut features = Vec::with_capacity(shapes.len());
    for sh in shapes {
        let merc = sh.geometry.map_coords(|c| {
            let [x, y] = crate::grid::lon_lat_to_mercator(c.x, c.y);
            geo::coord! { x: x, y: y }
        });
        let clipped: geo::Geometry<f64> = match merc {
            geo::Geometry::Polygon(p) => {
                geo::Geometry::MultiPolygon(p.intersection(&clip).simplify(tolerance))
            }
            geo::Geometry::MultiPolygon(mp) => {
                geo::Geometry::MultiPolygon(mp.intersection(&clip).simplify(tolerance))
            }
            geo::Geometry::Point(p) => geo::Geometry::Point(p),
            other => other,
        };
        if matches!(&clipped, geo::Geometry::MultiPolygon(mp) if mp.0.is_empty()) {
            continue;
        }
        features.push((clipped, sh.props.clone()));
    }
    encode_features(layer, bounds, features)
}

/// One point to draw: Web Mercator metres and its properties.
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub props: Props,
}

/// Counts per grid cell: how many points, and how many per value of one property.
pub struct Cells {
    bounds: [f64; 4],
    counts: Vec<u64>,
    by_value: Vec<Vec<u64>>,
    values: &'static [&'static str],
}

impl Cells {
    /// A `GRID` × `GRID` grid over `bounds` (Web Mercator), breaking counts down by `values`.
    pub fn new(bounds: [f64; 4], values: &'static [&'static str]) -> Cells {
        Cells {
            bounds,
            counts: vec![0; GRID * GRID],
            by_value: vec![vec![0; values.len()]; GRID * GRID],
            values,
        }
    }

    /// Counts a point at Web Mercator `(x, y)` with the `value`-th breakdown value.
    pub fn add(&mut self, x: f64, y: f64, value: usize) {
        let [w, s, e, n] = self.bounds;
        let cx = (((x - w) / (e - w)) * GRID as f64)
            .floor()
            .clamp(0.0, GRID as f64 - 1.0) as usize;
        let cy = (((n - y) / (n - s)) * GRID as f64)
            .floor()
            .clamp(0.0, GRID as f64 - 1.0) as usize;
        let i = cy * GRID + cx;
        self.counts[i] += 1;
        if let Some(c) = self.by_value[i].get_mut(value) {
            *c += 1;
        }
    }

    /// The non-empty cells as points at their centres, with `count` and `count_VALUE`
    /// properties (`breakdown` names the property broken down, e.g. `status`).
    pub fn points(&self, breakdown: &str) -> Vec<Point> {
        let [w, s, e, n] = self.bounds;
        let (cw, ch) = ((e - w) / GRID as f64, (n - s) / GRID as f64);
        let mut out = Vec::new();
        for (i, &count) in self.counts.iter().enumerate() {
            if count == 0 {
                continue;
            }
            let (cx, cy) = ((i % GRID) as f64, (i / GRID) as f64);
            let mut props = vec![
                ("count".to_string(), TileValue::Uint(count)),
                ("aggregated".to_string(), TileValue::Bool(true)),
            ];
            for (k, v) in self.values.iter().zip(&self.by_value[i]) {
                if *v > 0 {
                    props.push((format!("{breakdown}_{k}"), TileValue::Uint(*v)));
                }
            }
            out.push(Point {
                x: w + (cx + 0.5) * cw,
                y: n - (cy + 0.5) * ch,
                props,
            });
        }
        out
    }
}

/// One layer of `points` as an encoded tile over `bounds` (Web Mercator).
pub fn encode(layer: &str, bounds: [f64; 4], points: &[Point]) -> Result<Vec<u8>, String> {
    let features = points
        .iter()
        .map(|p| {
            (
                geo::Geometry::Point(geo::Point::new(p.x, p.y)),
                p.props.clone(),
            )
        })
        .collect();
    encode_features(layer, bounds, features)
}

/// Geometries in Web Mercator with their properties, as one layer.
fn encode_features(
    layer: &str,
    bounds: [f64; 4],
    items: Vec<(geo::Geometry<f64>, Props)>,
) -> Result<Vec<u8>, String> {
    let [w, s, e, n] = bounds;
    let mut keys: Vec<String> = Vec::new();
    let mut values: Vec<TileValue> = Vec::new();
    // Keys and values are shared by index across the layer; looked up by hash (a tile of 10 000
    // points has 10 000 distinct ids).
    let mut key_index: HashMap<String, u32> = HashMap::new();
    let mut value_index: HashMap<ValueKey, u32> = HashMap::new();
    let mut features = Vec::with_capacity(items.len());
    for (geometry, props) in &items {
        let mut feature = geometry
            .to_mvt(EXTENT, w, s, e, n)
            .map_err(|e| format!("encoding a feature: {e}"))?;
        for (k, v) in props {
            let ki = *key_index.entry(k.clone()).or_insert_with(|| {
                keys.push(k.clone());
                keys.len() as u32 - 1
            });
            let vi = *value_index.entry(ValueKey::of(v)).or_insert_with(|| {
                values.push(v.clone());
                values.len() as u32 - 1
            });
            feature.tags.extend([ki, vi]);
        }
        features.push(feature);
    }
    let layer = tile::Layer {
        version: 2,
        name: layer.to_string(),
        features,
        keys,
        values: values.into_iter().map(Into::into).collect(),
        extent: Some(EXTENT),
    };
    Ok(Tile {
        layers: vec![layer],
    }
    .encode_to_vec())
}

/// A tile value as a hash key (floats by their bits: equal values share an index).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ValueKey {
    Str(String),
    F32(u32),
    F64(u64),
    Int(i64),
    Uint(u64),
    Sint(i64),
    Bool(bool),
}

impl ValueKey {
    fn of(v: &TileValue) -> ValueKey {
        match v {
            TileValue::Str(s) => ValueKey::Str(s.clone()),
            TileValue::Float(f) => ValueKey::F32(f.to_bits()),
            TileValue::Double(f) => ValueKey::F64(f.to_bits()),
            TileValue::Int(i) => ValueKey::Int(*i),
            TileValue::Uint(u) => ValueKey::Uint(*u),
            TileValue::Sint(i) => ValueKey::Sint(*i),
            TileValue::Bool(b) => ValueKey::Bool(*b),
        }
    }
}
