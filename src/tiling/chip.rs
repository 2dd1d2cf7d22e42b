//! Image chips for reviewers: a crop of a survey's display tiles around a plot, with the plot's
//! outline drawn on it. Rendered on request from the tile store (nothing extra is stored).

use geo::{Coord, MultiPolygon};

use crate::grid::{self, ORIGIN_SHIFT, TILE_SIZE, Tile};

const T: usize = TILE_SIZE as usize;
/// Longest side of a chip in pixels; coarser zooms are used for larger plots.
pub const MAX_CHIP: usize = 384;

/// Renders the chip of `plot` (lon/lat) from tiles at zooms `min_zoom..=native`. `read(tile)` gives
/// a tile's RGBA pixels, or `None` where the survey has none. Returns PNG bytes.
pub fn render(
    plot: &MultiPolygon<f64>,
    native: u8,
    min_zoom: u8,
    read: &dyn Fn(Tile) -> Option<Vec<u8>>,
) -> Result<Vec<u8>, String> {
    use geo::BoundingRect;
    let r = plot.bounding_rect().ok_or("empty plot")?;
    let [x0, y0] = grid::lon_lat_to_mercator(r.min().x, r.min().y);
    let [x1, y1] = grid::lon_lat_to_mercator(r.max().x, r.max().y);
    // A margin of 25 % (at least 3 m) so the plot is seen in its surroundings.
    let pad = ((x1 - x0).max(y1 - y0) * 0.25).max(3.0);
    let (mx0, my0, mx1, my1) = (x0 - pad, y0 - pad, x1 + pad, y1 + pad);
    let mut z = native;
    let (px0, py0, w, h, res) = loop {
        let res = grid::resolution(z);
        let px0 = ((mx0 + ORIGIN_SHIFT) / res).floor();
        let py0 = ((ORIGIN_SHIFT - my1) / res).floor();
        let w = (((mx1 + ORIGIN_SHIFT) / res).ceil() - px0) as usize;
        let h = (((ORIGIN_SHIFT - my0) / res).ceil() - py0) as usize;
        if w.max(h) <= MAX_CHIP || z <= min_zoom {
            break (
                px0 as i64,
                py0 as i64,
                w.clamp(1, 4 * MAX_CHIP),
                h.clamp(1, 4 * MAX_CHIP),
                res,
            );
        }
        z -= 1;
    };
    let mut img = vec![0u8; w * h * 4];
    let n = 1i64 << z;
    for ty in (py0 / T as i64)..=((py0 + h as i64 - 1) / T as i64) {
        for tx in (px0 / T as i64)..=((px0 + w as i64 - 1) / T as i64) {
            if tx < 0 || ty < 0 || tx >= n || ty >= n {
                continue;
            }
            let Some(rgba) = read(Tile {
                z,
                x: tx as u32,
                y: ty as u32,
            }) else {
                continue;
            };
            for yy in 0..T as i64 {
                let gy = ty * T as i64 + yy - py0;
                if gy < 0 || gy >= h as i64 {
                    continue;
                }
                for xx in 0..T as i64 {
                    let gx = tx * T as i64 + xx - px0;
                    if gx < 0 || gx >= w as i64 {
                        continue;
                    }
                    let s = ((yy as usize) * T + xx as usize) * 4;
                    let d = ((gy as usize) * w + gx as usize) * 4;
                    img[d..d + 4].copy_from_slice(&rgba[s..s + 4]);
                }
            }
        }
    }
    // The outline, 2 px, bright yellow over a dark edge so it shows on any canopy.
    let to_px = |c: &Coord<f64>| {
        let [mx, my] = grid::lon_lat_to_mercator(c.x, c.y);
        (
            (mx + ORIGIN_SHIFT) / res - px0 as f64,
            (ORIGIN_SHIFT - my) / res - py0 as f64,
        )
    };
    for poly in &plot.0 {
        for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            for seg in ring.0.windows(2) {
                let (a, b) = (to_px(&seg[0]), to_px(&seg[1]));
                line(&mut img, w, h, a, b, [20, 20, 20, 255], 2.0);
                line(&mut img, w, h, a, b, [255, 230, 0, 255], 1.0);
            }
        }
    }
    let mut out = Vec::new();
    use image::ImageEncoder;
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(&img, w as u32, h as u32, image::ExtendedColorType::Rgba8)
        .map_err(|e| format!("encoding a chip: {e}"))?;
    Ok(out)
}

/// Draws a line of half-width `r` pixels.
fn line(img: &mut [u8], w: usize, h: usize, a: (f64, f64), b: (f64, f64), c: [u8; 4], r: f64) {
    let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
    let steps = (len * 2.0).ceil().max(1.0) as usize;
    let ri = r.ceil() as i64;
    for i in 0..=steps {
        let t = i as f64 / steps as f64;
        let (x, y) = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
        for dy in -ri..=ri {
            for dx in -ri..=ri {
                if ((dx * dx + dy * dy) as f64) > r * r + 0.5 {
                    continue;
                }
                let (px, py) = (x as i64 + dx, y as i64 + dy);
                if px >= 0 && py >= 0 && (px as usize) < w && (py as usize) < h {
                    let d = (py as usize * w + px as usize) * 4;
                    img[d..d + 4].copy_from_slice(&c);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, Polygon};

    #[test]
    fn chip_shows_the_tiles_and_the_outline() {
        // A 20 m square near 105.2, 22.0 and tiles that are all mid-grey.
        let (lon, lat) = (105.2, 22.0);
        let d = 20.0 / 111_000.0;
        let sq = Polygon::new(
            LineString::from(vec![
                (lon, lat),
                (lon + d, lat),
                (lon + d, lat + d),
                (lon, lat + d),
                (lon, lat),
            ]),
            vec![],
        );
        let grey = vec![128u8; T * T * 4];
        let png = render(&MultiPolygon(vec![sq]), 21, 15, &|_| Some(grey.clone())).unwrap();
        let img = image::load_from_memory(&png).unwrap().to_rgba8();
        assert!(img.width() as usize <= MAX_CHIP && img.height() as usize <= MAX_CHIP);
        let yellow = img.pixels().filter(|p| p.0 == [255, 230, 0, 255]).count();
        let grey_px = img.pixels().filter(|p| p.0 == [128, 128, 128, 128]).count();
        assert!(yellow > 100, "outline drawn: {yellow}");
        assert!(grey_px > yellow, "imagery around it");
    }
}
