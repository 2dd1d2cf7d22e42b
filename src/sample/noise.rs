//! Seeded randomness without dependencies: a splitmix64 generator for layout decisions and
//! stateless hash noise for per-pixel texture, so a scene is a pure function of its seed on every
//! platform and every version of the `rand` crate.

/// splitmix64's finaliser: a strong 64-bit mix.
#[inline]
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A hash of an integer lattice point and a seed.
#[inline]
pub(crate) fn hash2(x: i64, y: i64, seed: u64) -> u64 {
    mix64(
        seed ^ mix64(
            (x as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
                ^ (y as u64).wrapping_mul(0xc2b2_ae3d_27d4_eb4f),
        ),
    )
}

/// The top 24 bits of a hash as a number in [0, 1).
#[inline]
pub(crate) fn unit(h: u64) -> f32 {
    (h >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
}

/// Smooth value noise in [0, 1): hashed lattice values, smoothstep-interpolated. `x`, `y` are in
/// lattice units.
#[inline]
pub(crate) fn value_noise(x: f32, y: f32, seed: u64) -> f32 {
    let (xf, yf) = (x.floor(), y.floor());
    let (xi, yi) = (xf as i64, yf as i64);
    let (tx, ty) = (x - xf, y - yf);
    let (sx, sy) = (tx * tx * (3.0 - 2.0 * tx), ty * ty * (3.0 - 2.0 * ty));
    let a = unit(hash2(xi, yi, seed));
    let b = unit(hash2(xi + 1, yi, seed));
    let c = unit(hash2(xi, yi + 1, seed));
    let d = unit(hash2(xi + 1, yi + 1, seed));
    let top = a + (b - a) * sx;
    let bottom = c + (d - c) * sx;
    top + (bottom - top) * sy
}

/// Two octaves of value noise, in [0, 1).
#[inline]
pub(crate) fn fbm2(x: f32, y: f32, seed: u64) -> f32 {
    (value_noise(x, y, seed) * 2.0 + value_noise(x * 2.7, y * 2.7, seed ^ 0x5bd1)) / 3.0
}

/// A seeded splitmix64 generator for the layout (plots, conditions).
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(mix64(seed ^ 0x7669_6769_6c00_0001))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.0)
    }

    /// Uniform in [0, 1).
    pub(crate) fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi).
    pub(crate) fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f64()
    }

    /// Uniform in 0..n (n > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((self.f64() * n as f64) as usize).min(n.saturating_sub(1))
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_in_range_and_deterministic() {
        for i in 0..1000 {
            let (x, y) = (i as f32 * 0.37, i as f32 * 0.11);
            let v = value_noise(x, y, 9);
            assert!((0.0..1.0).contains(&v), "{v}");
            assert_eq!(v, value_noise(x, y, 9));
            assert!((0.0..1.0).contains(&fbm2(x, y, 3)));
        }
        let mut a = Rng::new(5);
        let mut b = Rng::new(5);
        let mut c = Rng::new(6);
        let va: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let vb: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        let vc: Vec<u64> = (0..8).map(|_| c.next_u64()).collect();
        assert_eq!(va, vb);
        assert_ne!(va, vc);
        for _ in 0..1000 {
            assert!(a.below(7) < 7);
            let r = a.range(2.0, 3.0);
            assert!((2.0..3.0).contains(&r));
        }
    }
}
