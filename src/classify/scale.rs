//! One ground size for every flight: surveys are classified on the tiles of one zoom level,
//! [`CLASSIFY_ZOOM`], whatever their own resolution, so a 3 cm and a 15 cm flight see the same
//! plants in a cell (a cell of 8 pixels is about 0.55 m on the ground in northern Vietnam).
//!
//! A finer survey's native analysis tiles are averaged down (2^k × 2^k pixels per pixel, weighted
//! by the footprint mask); a coarser one's are interpolated up (bilinear inside the footprint).
//! Surveys coarser than [`MAX_GSD_M`] are not classified at all: a poppy plant is 20–40 cm across,
//! so on a 5 m satellite pixel no plant can be seen and any flag would be noise.

use crate::grid::Tile;
use crate::tiling::LevelRange;
use crate::tiling::layout::{AnalysisTile, SurveyDir};

/// The zoom whose tiles are classified (7.5 cm per pixel on the Web Mercator grid at the equator,
/// 6.9 cm at 22°N).
pub const CLASSIFY_ZOOM: u8 = 21;

/// The coarsest ground resolution the classifier is run on, in metres per pixel.
pub const MAX_GSD_M: f64 = 0.25;

/// Why a survey is not classified, in words for the survey's record; `None` when it is.
pub fn unsupported_reason(gsd_m: f64) -> Option<String> {
    (!gsd_m.is_finite() || gsd_m > MAX_GSD_M).then(|| {
        format!(
            "not classified: ground resolution {gsd_m:.2} m per pixel is coarser than the \
             classifier's supported {MAX_GSD_M} m (plants cannot be seen); the imagery is \
             served as usual"
        )
    })
}

/// The classification level covering a survey's native level.
pub fn classify_level(native: LevelRange) -> LevelRange {
    let z = CLASSIFY_ZOOM;
    if native.z >= z {
        let k = native.z - z;
        LevelRange {
            z,
            min_x: native.min_x >> k,
            min_y: native.min_y >> k,
            max_x: native.max_x >> k,
            max_y: native.max_y >> k,
        }
    } else {
        let k = z - native.z;
        LevelRange {
            z,
            min_x: native.min_x << k,
            min_y: native.min_y << k,
            max_x: ((native.max_x + 1) << k) - 1,
            max_y: ((native.max_y + 1) << k) - 1,
        }
    }
}

/// Reads a native analysis tile; `None` when it does not exist (outside the footprint).
pub fn read_native(dir: &SurveyDir, t: Tile) -> Result<Option<AnalysisTile>, String> {
    let path = dir.analysis(t);
    match std::fs::read(&path) {
        Ok(bytes) => AnalysisTile::decode(&bytes)
            .map(Some)
            .map_err(|e| format!("analysis tile {}/{}/{}: {e}", t.z, t.x, t.y)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("analysis tile {}/{}/{}: {e}", t.z, t.x, t.y)),
    }
}

/// The analysis tile `t` (at [`CLASSIFY_ZOOM`]) of a survey whose analysis tiles are at
/// `native_z`; `None` when no native tile under it exists.
pub fn read_tile(dir: &SurveyDir, native_z: u8, t: Tile) -> Result<Option<AnalysisTile>, String> {
    debug_assert_eq!(t.z, CLASSIFY_ZOOM);
    if native_z == t.z {
        return read_native(dir, t);
    }
    if native_z > t.z {
        let k = native_z - t.z;
        let n = 1u32 << k;
        let mut children = Vec::with_capacity((n * n) as usize);
        for dy in 0..n {
            for dx in 0..n {
                let c = Tile {
                    z: native_z,
                    x: (t.x << k) + dx,
                    y: (t.y << k) + dy,
                };
                children.push(((dx, dy), read_native(dir, c)?));
            }
        }
        if children.iter().all(|(_, c)| c.is_none()) {
            return Ok(None);
        }
        Ok(Some(downsample(k, &children)))
    } else {
        let k = t.z - native_z;
        let parent = Tile {
            z: native_z,
            x: t.x >> k,
            y: t.y >> k,
        };
        let Some(p) = read_native(dir, parent)? else {
            return Ok(None);
        };
        let mask = (1u32 << k) - 1;
        let up = upsample(&p, k, (t.x & mask) as usize, (t.y & mask) as usize);
        Ok((up.mask.iter().any(|&m| m != 0)).then_some(up))
    }
}

type Child = ((u32, u32), Option<AnalysisTile>);

/// Box average of 2^k × 2^k native tiles into one, weighted by their masks; a pixel is inside
/// the footprint when at least half of its source pixels are.
fn downsample(k: u8, children: &[Child]) -> AnalysisTile {
    let first = children
        .iter()
        .find_map(|(_, c)| c.as_ref())
        .expect("at least one child");
    let nb = first.planes.len();
    let f = 1usize << k;
    let part = 256 / f;
    let mut planes = vec![vec![0u16; 65536]; nb];
    let mut mask = vec![0u8; 65536];
    for ((dx, dy), c) in children {
        let Some(c) = c else { continue };
        let (ox, oy) = (*dx as usize * part, *dy as usize * part);
        for y in 0..part {
            for x in 0..part {
                let mut sums = [0u64; 5];
                let mut w = 0u64;
                for sy in 0..f {
                    let row = (y * f + sy) * 256 + x * f;
                    for sx in 0..f {
                        let i = row + sx;
                        if c.mask[i] == 0 {
                            continue;
                        }
                        w += 1;
                        for (b, p) in c.planes.iter().enumerate().take(nb.min(5)) {
                            sums[b] += u64::from(p[i]);
                        }
                    }
                }
                let o = (oy + y) * 256 + ox + x;
                if w * 2 >= (f * f) as u64 {
                    mask[o] = 255;
                    for b in 0..nb.min(5) {
                        planes[b][o] = ((sums[b] + w / 2) / w) as u16;
                    }
                }
            }
        }
    }
    AnalysisTile {
        sample_bytes: first.sample_bytes,
        roles: first.roles.clone(),
        planes,
        mask,
    }
}

/// Bilinear interpolation of the `(qx, qy)` quarter (at level `k`) of a native tile up to a whole
/// tile; the mask is taken from the nearest source pixel, values only from valid ones.
fn upsample(p: &AnalysisTile, k: u8, qx: usize, qy: usize) -> AnalysisTile {
    let f = 1usize << k;
    let part = 256 / f;
    let (ox, oy) = (qx * part, qy * part);
    let nb = p.planes.len();
    let mut planes = vec![vec![0u16; 65536]; nb];
    let mut mask = vec![0u8; 65536];
    let scale = 1.0 / f as f32;
    for y in 0..256 {
        let sy = oy as f32 + (y as f32 + 0.5) * scale - 0.5;
        let y0 = (sy.floor().max(0.0) as usize).min(255);
        let y1 = (y0 + 1).min(255);
        let fy = (sy - y0 as f32).clamp(0.0, 1.0);
        for x in 0..256 {
            let sx = ox as f32 + (x as f32 + 0.5) * scale - 0.5;
            let x0 = (sx.floor().max(0.0) as usize).min(255);
            let x1 = (x0 + 1).min(255);
            let fx = (sx - x0 as f32).clamp(0.0, 1.0);
            let near = (oy + y / f) * 256 + ox + x / f;
            let o = y * 256 + x;
            if p.mask[near] == 0 {
                continue;
            }
            mask[o] = 255;
            let idx = [y0 * 256 + x0, y0 * 256 + x1, y1 * 256 + x0, y1 * 256 + x1];
            let wts = [
                (1.0 - fx) * (1.0 - fy),
                fx * (1.0 - fy),
                (1.0 - fx) * fy,
                fx * fy,
            ];
            for (b, plane) in p.planes.iter().enumerate() {
                let (mut s, mut w) = (0f32, 0f32);
                for (i, wt) in idx.iter().zip(wts) {
                    if p.mask[*i] != 0 {
                        s += f32::from(plane[*i]) * wt;
                        w += wt;
                    }
                }
                planes[b][o] = if w > 0.0 {
                    (s / w).round() as u16
                } else {
                    plane[near]
                };
            }
        }
    }
    AnalysisTile {
        sample_bytes: p.sample_bytes,
        roles: p.roles.clone(),
        planes,
        mask,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::raster::Role;

    fn tile(v: impl Fn(usize, usize) -> u16, valid: impl Fn(usize, usize) -> bool) -> AnalysisTile {
        let mut planes = vec![vec![0u16; 65536]; 3];
        let mut mask = vec![0u8; 65536];
        for y in 0..256 {
            for x in 0..256 {
                for p in planes.iter_mut() {
                    p[y * 256 + x] = v(x, y);
                }
                mask[y * 256 + x] = if valid(x, y) { 255 } else { 0 };
            }
        }
        AnalysisTile {
            sample_bytes: 1,
            roles: vec![Role::Red, Role::Green, Role::Blue],
            planes,
            mask,
        }
    }

    #[test]
    fn levels_map_both_ways() {
        let native = LevelRange {
            z: 22,
            min_x: 10,
            min_y: 20,
            max_x: 13,
            max_y: 21,
        };
        let l = classify_level(native);
        assert_eq!(
            (l.z, l.min_x, l.min_y, l.max_x, l.max_y),
            (21, 5, 10, 6, 10)
        );
        let coarse = LevelRange {
            z: 20,
            min_x: 3,
            min_y: 4,
            max_x: 3,
            max_y: 5,
        };
        let l = classify_level(coarse);
        assert_eq!((l.min_x, l.min_y, l.max_x, l.max_y), (6, 8, 7, 11));
    }

    #[test]
    fn downsampling_averages_valid_pixels_only() {
        // Two children of a 2 × 2 block: one with a 0/200 checkerboard, one half outside.
        let a = tile(|x, y| if (x + y) % 2 == 0 { 0 } else { 200 }, |_, _| true);
        let b = tile(|_, _| 90, |x, _| x < 128);
        let children = vec![
            ((0, 0), Some(a)),
            ((1, 0), Some(b)),
            ((0, 1), None),
            ((1, 1), None),
        ];
        let d = downsample(1, &children);
        assert_eq!(d.planes[0][0], 100);
        assert_eq!(d.mask[0], 255);
        // Second child lands at x 128..256; its left half (source x < 128) → x 128..192.
        assert_eq!(d.planes[1][130], 90);
        assert_eq!(d.mask[130], 255);
        assert_eq!(d.mask[200], 0);
        // Missing children stay outside the footprint.
        assert_eq!(d.mask[200 * 256 + 10], 0);
    }

    #[test]
    fn upsampling_interpolates_inside_the_footprint() {
        let p = tile(|x, _| (x as u16) * 2, |x, _| x < 200);
        let u = upsample(&p, 1, 0, 0);
        // Source x 10 → target x 20..21; values between neighbours.
        assert!(
            (i32::from(u.planes[0][20]) - 19).abs() <= 1,
            "{}",
            u.planes[0][20]
        );
        assert_eq!(u.mask[20], 255);
        let right = upsample(&p, 1, 1, 0);
        // Source x 128 + 80 = 208 is outside.
        assert_eq!(right.mask[160], 0);
        assert_eq!(right.mask[100], 255);
    }

    #[test]
    fn coarse_surveys_are_refused_with_a_reason() {
        assert!(unsupported_reason(0.05).is_none());
        assert!(unsupported_reason(0.25).is_none());
        let why = unsupported_reason(5.0).unwrap();
        assert!(why.contains("5.00 m"), "{why}");
        assert!(unsupported_reason(f64::NAN).is_some());
    }
}
