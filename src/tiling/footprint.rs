//! A survey's footprint: the outline of its valid pixels, as polygons.
//!
//! The tiler fills a coarse mask (at most ~2048 px on a side, in Web Mercator pixels); here runs
//! of valid pixels become rectangles (merged down identical runs of consecutive rows), their union
//! is taken with `geo`'s boolean ops, the staircase is simplified by one mask pixel, and the
//! vertices are mapped to lon/lat.

use geo::{Coord, LineString, MultiPolygon, Polygon, Rect, Simplify};

/// A binary mask over a Web Mercator area.
#[derive(Debug, Clone)]
pub struct Mask {
    pub width: usize,
    pub height: usize,
    pub bits: Vec<bool>,
    /// EPSG:3857 `[minx, miny, maxx, maxy]` of the whole mask.
    pub bounds: [f64; 4],
}

impl Mask {
    pub fn new(width: usize, height: usize, bounds: [f64; 4]) -> Mask {
        Mask {
            width,
            height,
            bits: vec![false; width * height],
            bounds,
        }
    }

    pub fn set(&mut self, x: usize, y: usize) {
        if x < self.width && y < self.height {
            self.bits[y * self.width + x] = true;
        }
    }

    pub fn any(&self) -> bool {
        self.bits.iter().any(|b| *b)
    }
}

/// The footprint as lon/lat polygons (empty when no pixel is valid).
pub fn outline(mask: &Mask) -> MultiPolygon<f64> {
    // Runs per row, merged with the same run on following rows.
    let mut rects: Vec<Rect<f64>> = Vec::new();
    let mut open: Vec<(usize, usize, usize)> = Vec::new(); // (x0, x1, y0) of runs still growing
    for y in 0..=mask.height {
        let mut runs = Vec::new();
        if y < mask.height {
            let row = &mask.bits[y * mask.width..(y + 1) * mask.width];
            let mut x = 0;
            while x < mask.width {
                if row[x] {
                    let s = x;
                    while x < mask.width && row[x] {
                        x += 1;
                    }
                    runs.push((s, x));
                } else {
                    x += 1;
                }
            }
        }
        let mut next_open = Vec::with_capacity(runs.len());
        for (x0, x1, y0) in open.drain(..) {
            if let Some(i) = runs.iter().position(|r| *r == (x0, x1)) {
                runs.swap_remove(i);
                next_open.push((x0, x1, y0));
            } else {
                rects.push(Rect::new(
                    Coord {
                        x: x0 as f64,
                        y: y0 as f64,
                    },
                    Coord {
                        x: x1 as f64,
                        y: y as f64,
                    },
                ));
            }
        }
        next_open.extend(runs.into_iter().map(|(x0, x1)| (x0, x1, y)));
        open = next_open;
    }
    if rects.is_empty() {
        return MultiPolygon(vec![]);
    }
    let polys: Vec<Polygon<f64>> = rects.into_iter().map(|r| r.to_polygon()).collect();
    let union = geo::unary_union(&polys);
    let simple = union.simplify(1.0);
    let [minx, miny, maxx, maxy] = mask.bounds;
    let sx = (maxx - minx) / mask.width as f64;
    let sy = (maxy - miny) / mask.height as f64;
    let to_lon_lat = |c: &Coord<f64>| {
        let [lon, lat] = crate::grid::mercator_to_lon_lat(minx + c.x * sx, maxy - c.y * sy);
        Coord { x: lon, y: lat }
    };
    let ring = |ls: &LineString<f64>| LineString(ls.0.iter().map(to_lon_lat).collect());
    MultiPolygon(
        simple
            .0
            .iter()
            .filter(|p| p.exterior().0.len() >= 4)
            .map(|p| {
                // Pixel rows grow southwards: mapping flips orientation, so re-orient exteriors
                // counter-clockwise as GeoJSON (RFC 7946) asks.
                let mut out =
                    Polygon::new(ring(p.exterior()), p.interiors().iter().map(ring).collect());
                use geo::orient::{Direction, Orient};
                out = out.orient(Direction::Default);
                out
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Area;

    #[test]
    fn a_disc_with_a_hole_becomes_one_polygon_with_one_hole() {
        let n = 100;
        let mut m = Mask::new(n, n, [0.0, 0.0, 1000.0, 1000.0]);
        for y in 0..n {
            for x in 0..n {
                let d = ((x as f64 - 50.0).powi(2) + (y as f64 - 50.0).powi(2)).sqrt();
                if d < 40.0 && d > 10.0 {
                    m.set(x, y);
                }
            }
        }
        let mp = outline(&m);
        assert_eq!(mp.0.len(), 1);
        assert_eq!(mp.0[0].interiors().len(), 1);
        // Area in squared degrees is positive once oriented (exterior counter-clockwise).
        assert!(mp.signed_area() > 0.0);
    }

    #[test]
    fn empty_mask_has_no_footprint() {
        let m = Mask::new(10, 10, [0.0, 0.0, 1.0, 1.0]);
        assert!(outline(&m).0.is_empty());
    }
}
