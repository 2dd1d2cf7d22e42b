//! The one tile grid: OGC WebMercatorQuad (EPSG:3857, 256×256 tiles, XYZ numbering with the origin
//! at the top left). Pure math, no IO: which tiles cover an area, a tile's bounds, the zoom whose
//! pixels match a survey's ground resolution. Survey tiling (issue 3) and tile serving build on it.
//!
//! ```
//! use vigil::grid::{Tile, tile_for_lon_lat};
//! let t = tile_for_lon_lat(105.85, 21.03, 12); // Hà Nội
//! assert_eq!(t, Tile { z: 12, x: 3252, y: 1803 });
//! ```

use std::f64::consts::PI;

/// Half the width of the Web Mercator world in metres (π × 6378137).
pub const ORIGIN_SHIFT: f64 = PI * 6_378_137.0;
/// Tile width and height in pixels.
pub const TILE_SIZE: u32 = 256;
/// Deepest zoom Vigil serves (≈ 1.2 cm/px at the equator; drone imagery is 1–5 cm/px).
pub const MAX_ZOOM: u8 = 24;
/// Latitude limit of Web Mercator.
pub const MAX_LAT: f64 = 85.051_128_779_806_59;

/// A tile of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tile {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

/// Why tile coordinates were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GridError {
    #[error("zoom {0} is outside 0..={MAX_ZOOM}")]
    Zoom(u32),
    #[error("tile {x}/{y} does not exist at zoom {z} (0..{n} on each axis)")]
    OutOfRange { z: u8, x: u64, y: u64, n: u64 },
}

impl Tile {
    /// A checked tile (for tile paths from requests).
    pub fn new(z: u32, x: u64, y: u64) -> Result<Tile, GridError> {
        if z > u32::from(MAX_ZOOM) {
            return Err(GridError::Zoom(z));
        }
        let n = 1u64 << z;
        if x >= n || y >= n {
            return Err(GridError::OutOfRange {
                z: z as u8,
                x,
                y,
                n,
            });
        }
        Ok(Tile {
            z: z as u8,
            x: x as u32,
            y: y as u32,
        })
    }

    /// `[minx, miny, maxx, maxy]` in EPSG:3857 metres.
    pub fn bounds_mercator(self) -> [f64; 4] {
        let size = 2.0 * ORIGIN_SHIFT / f64::from(1u32 << self.z);
        let minx = -ORIGIN_SHIFT + f64::from(self.x) * size;
        let maxy = ORIGIN_SHIFT - f64::from(self.y) * size;
        [minx, maxy - size, minx + size, maxy]
    }

    /// `[west, south, east, north]` in degrees.
    pub fn bounds_lon_lat(self) -> [f64; 4] {
        let [x0, y0, x1, y1] = self.bounds_mercator();
        let [w, s] = mercator_to_lon_lat(x0, y0);
        let [e, n] = mercator_to_lon_lat(x1, y1);
        [w, s, e, n]
    }

    /// The tile one zoom up that contains this one.
    pub fn parent(self) -> Option<Tile> {
        (self.z > 0).then(|| Tile {
            z: self.z - 1,
            x: self.x / 2,
            y: self.y / 2,
        })
    }

    /// The four tiles one zoom down, in reading order.
    pub fn children(self) -> [Tile; 4] {
        let (z, x, y) = (self.z + 1, self.x * 2, self.y * 2);
        [
            Tile { z, x, y },
            Tile { z, x: x + 1, y },
            Tile { z, x, y: y + 1 },
            Tile {
                z,
                x: x + 1,
                y: y + 1,
            },
        ]
    }
}

/// Metres per pixel of a zoom level at the equator.
pub fn resolution(z: u8) -> f64 {
    2.0 * ORIGIN_SHIFT / (f64::from(TILE_SIZE) * f64::from(1u32 << z))
}

/// The shallowest zoom whose pixels are at least as fine as `gsd_m` ground metres at latitude
/// `lat` (Web Mercator stretches by 1/cos(lat)), capped at [`MAX_ZOOM`].
pub fn zoom_for_ground_resolution(gsd_m: f64, lat: f64) -> u8 {
    let stretch = 1.0 / lat.clamp(-MAX_LAT, MAX_LAT).to_radians().cos();
    let wanted = gsd_m * stretch; // mercator metres per pixel that match the ground resolution
    (0..=MAX_ZOOM)
        .find(|&z| resolution(z) <= wanted * (1.0 + 1e-9))
        .unwrap_or(MAX_ZOOM)
}

/// EPSG:4326 lon/lat to EPSG:3857 metres (latitudes clamped to the Mercator limit).
pub fn lon_lat_to_mercator(lon: f64, lat: f64) -> [f64; 2] {
    let lat = lat.clamp(-MAX_LAT, MAX_LAT);
    let x = lon * ORIGIN_SHIFT / 180.0;
    let y = (PI / 4.0 + lat.to_radians() / 2.0).tan().ln() * 6_378_137.0;
    [x, y]
}

/// EPSG:3857 metres to lon/lat.
pub fn mercator_to_lon_lat(x: f64, y: f64) -> [f64; 2] {
    let lon = x / ORIGIN_SHIFT * 180.0;
    let lat = (2.0 * (y / 6_378_137.0).exp().atan() - PI / 2.0).to_degrees();
    [lon, lat]
}

/// The tile containing a point (points on a tile edge belong to the tile to their east / south).
pub fn tile_for_lon_lat(lon: f64, lat: f64, z: u8) -> Tile {
    let [mx, my] = lon_lat_to_mercator(lon, lat);
    tile_for_mercator(mx, my, z)
}

fn tile_for_mercator(mx: f64, my: f64, z: u8) -> Tile {
    let n = 1u64 << z;
    let size = 2.0 * ORIGIN_SHIFT / n as f64;
    let clamp = |v: f64| (v.floor().max(0.0) as u64).min(n - 1) as u32;
    Tile {
        z,
        x: clamp((mx + ORIGIN_SHIFT) / size),
        y: clamp((ORIGIN_SHIFT - my) / size),
    }
}

/// The inclusive tile range `(min_x, min_y, max_x, max_y)` covering an EPSG:3857 bbox at zoom `z`.
pub fn tile_range_mercator(bbox: [f64; 4], z: u8) -> (u32, u32, u32, u32) {
    let a = tile_for_mercator(bbox[0], bbox[3], z);
    // The max corner is exclusive: a bbox ending exactly on a tile edge does not take the next tile.
    let eps = resolution(z) * 1e-6;
    let b = tile_for_mercator(bbox[2] - eps, bbox[1] + eps, z);
    (a.x, a.y, b.x.max(a.x), b.y.max(a.y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_tiles() {
        // Checked against the OSM slippy-map formula.
        let cases = [
            ((105.85, 21.03, 12), (3252, 1803)),
            ((0.0, 0.0, 1), (1, 1)),
            ((-180.0, 85.0, 3), (0, 0)),
            ((179.999, -85.0, 3), (7, 7)),
        ];
        for ((lon, lat, z), (x, y)) in cases {
            assert_eq!(
                tile_for_lon_lat(lon, lat, z),
                Tile { z, x, y },
                "{lon},{lat} z{z}"
            );
        }
    }

    #[test]
    fn tile_paths_are_checked() {
        assert!(Tile::new(25, 0, 0).is_err());
        assert!(Tile::new(3, 8, 0).is_err());
        assert_eq!(Tile::new(3, 7, 7), Ok(Tile { z: 3, x: 7, y: 7 }));
        assert_eq!(
            Tile::new(0, 0, 0).unwrap().bounds_mercator(),
            [-ORIGIN_SHIFT, -ORIGIN_SHIFT, ORIGIN_SHIFT, ORIGIN_SHIFT]
        );
    }

    #[test]
    fn zoom_matches_drone_resolution_table() {
        // Resolution at zoom z is 156543.03/2^z m/px at the equator; at 22°N pixels are cos(22°) finer on the ground.
        let cases = [
            (0.05, 0.0, 22),
            (0.05, 22.0, 22),
            (0.10, 22.0, 21),
            (0.03, 22.0, 23),
            (10.0, 22.0, 14),
            (0.001, 0.0, MAX_ZOOM),
        ];
        for (gsd, lat, z) in cases {
            assert_eq!(
                zoom_for_ground_resolution(gsd, lat),
                z,
                "gsd {gsd} at {lat}"
            );
        }
    }

    #[test]
    fn range_excludes_the_tile_past_an_exact_edge() {
        let t = Tile {
            z: 10,
            x: 812,
            y: 450,
        };
        assert_eq!(
            tile_range_mercator(t.bounds_mercator(), 10),
            (812, 450, 812, 450)
        );
    }

    proptest! {
        #[test]
        fn point_lies_in_its_tile_and_parents_contain_children(lon in -179.9f64..179.9, lat in -85.0f64..85.0, z in 1u8..=MAX_ZOOM) {
            let t = tile_for_lon_lat(lon, lat, z);
            let [w, s, e, n] = t.bounds_lon_lat();
            prop_assert!(lon >= w - 1e-9 && lon <= e + 1e-9 && lat >= s - 1e-9 && lat <= n + 1e-9, "{t:?} {:?}", [w, s, e, n]);
            let p = t.parent().unwrap();
            prop_assert!(p.children().contains(&t));
            prop_assert_eq!(tile_for_lon_lat(lon, lat, z - 1), p);
        }

        #[test]
        fn mercator_round_trips(lon in -180.0f64..180.0, lat in -85.0f64..85.0) {
            let [x, y] = lon_lat_to_mercator(lon, lat);
            let [lon2, lat2] = mercator_to_lon_lat(x, y);
            prop_assert!((lon - lon2).abs() < 1e-9 && (lat - lat2).abs() < 1e-9);
        }
    }
}
