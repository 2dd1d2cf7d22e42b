//! Ground truth in pixel space: polygon helpers and per-class statistics measured through the truth
//! polygons (what a classifier or a test sees when it trusts only the GeoJSON).

use std::collections::BTreeMap;

use super::{Class, REFLECTANCE_SCALE, Scene};

/// Area of a ring (shoelace), in its own units squared; the ring need not be closed.
pub fn ring_area(ring: &[(f64, f64)]) -> f64 {
    let n = ring.len();
    let mut s = 0.0;
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + 1) % n]);
        s += a.0 * b.1 - b.0 * a.1;
    }
    (s / 2.0).abs()
}

/// Even-odd point-in-polygon test.
pub fn point_in_ring(ring: &[(f64, f64)], x: f64, y: f64) -> bool {
    let n = ring.len();
    let mut inside = false;
    let mut j = n.wrapping_sub(1);
    for i in 0..n {
        let (a, b) = (ring[i], ring[j]);
        if (a.1 > y) != (b.1 > y) && x < (b.0 - a.0) * (y - a.1) / (b.1 - a.1) + a.0 {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// Mean reflectance (0–1; red, green, blue, NIR) of each class over the pixels whose centres lie in
/// its truth polygons.
pub fn class_means(scene: &Scene) -> BTreeMap<Class, [f64; 4]> {
    let mut sums: BTreeMap<Class, ([f64; 4], u64)> = BTreeMap::new();
    let (w, h) = (scene.width(), scene.height());
    for p in &scene.plots {
        let xmin = p.ring.iter().map(|q| q.0).fold(f64::INFINITY, f64::min);
        let xmax = p.ring.iter().map(|q| q.0).fold(f64::NEG_INFINITY, f64::max);
        let ymin = p.ring.iter().map(|q| q.1).fold(f64::INFINITY, f64::min);
        let ymax = p.ring.iter().map(|q| q.1).fold(f64::NEG_INFINITY, f64::max);
        let entry = sums.entry(p.class).or_insert(([0.0; 4], 0));
        let (c0, c1) = (
            xmin.floor().max(0.0) as usize,
            (xmax.ceil() as usize).min(w),
        );
        let (r0, r1) = (
            ymin.floor().max(0.0) as usize,
            (ymax.ceil() as usize).min(h),
        );
        for row in r0..r1 {
            for col in c0..c1 {
                if point_in_ring(&p.ring, col as f64 + 0.5, row as f64 + 0.5) {
                    let i = row * w + col;
                    for (b, s) in entry.0.iter_mut().enumerate() {
                        *s += scene.reflectance[b][i] as f64 / REFLECTANCE_SCALE as f64;
                    }
                    entry.1 += 1;
                }
            }
        }
    }
    sums.into_iter()
        .filter(|(_, (_, n))| *n > 0)
        .map(|(c, (s, n))| (c, s.map(|v| v / n as f64)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polygon_helpers() {
        let sq = [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)];
        assert_eq!(ring_area(&sq), 4.0);
        assert!(point_in_ring(&sq, 1.0, 1.0));
        assert!(!point_in_ring(&sq, 3.0, 1.0));
        assert!(!point_in_ring(&sq, 1.0, -0.5));
    }
}
