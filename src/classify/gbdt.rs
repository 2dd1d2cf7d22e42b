//! Gradient-boosted oblivious trees over the per-cell features: the higher-capacity alternative
//! to the softmax head (issue 12), selected with `VIGIL_MODEL_KIND=gbdt vigil train …`.
//!
//! Each boosting round grows one *oblivious* tree (every node of a level splits on the same
//! feature and threshold, as CatBoost does) whose leaves hold one value per class, fitted by a
//! Newton step on the softmax cross-entropy (Friedman's multiclass boosting). Why this shape:
//! - a cell's leaf is `depth` comparisons folded into an index, without branches, so a cell costs
//!   `rounds × depth` comparisons and `rounds` four-float adds — the classify stage keeps its
//!   speed (an ordinary tree per class and round would cost four times that, with a branch per
//!   node);
//! - one split per level is a strong regulariser, which is what a model that must read another
//!   generator's imagery needs most;
//! - outside the training range a tree's output is flat, where the quadratic softmax head's
//!   logits grow without bound.
//!
//! Why hand-written and not a crate: of the pure-Rust crates, `forust-ml` fits binary and
//! regression objectives only (no multiclass) and `perpetual` (3.0 is a release candidate)
//! predicts through its own f64 column-major matrices and a model format of its own; the four
//! classes, f32 inference inside [`super::model::Head::predict_batch`], boosting continued on a
//! province's reviewed cells and the model kept in our own versioned JSON file are ~300 lines
//! here. Training bins every feature into at most [`BINS`] quantile bins and builds one gradient
//! histogram per level (all nodes of the level in one pass over the rows).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::features::N_FEATURES;
use super::model::{N_CLASSES, softmax};

/// Most quantile bins per feature while training.
pub const BINS: usize = 64;

/// The trees of one head.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Forest {
    /// Levels of every tree (leaves per tree: `2^depth`).
    pub depth: usize,
    /// Starting logits (class priors).
    pub base: Vec<f32>,
    /// Per tree, `depth` split features (index into the head's inputs), level 0 first.
    pub features: Vec<u8>,
    /// Per tree, `depth` thresholds: level `k` sends a cell right (bit `k` of its leaf index)
    /// when its feature is greater than the threshold.
    pub thresholds: Vec<f32>,
    /// Per tree, `2^depth` leaves of `N_CLASSES` logit increments.
    pub leaves: Vec<f32>,
}

/// Boosting options.
#[derive(Debug, Clone)]
pub struct GbdtOptions {
    pub rounds: usize,
    pub depth: usize,
    pub learning_rate: f32,
    /// L2 on leaf values (in hessian units).
    pub lambda: f32,
    /// Rows drawn per round, at most (the rest still get the round's update).
    pub rows_per_round: usize,
    /// Share of features a tree may split on.
    pub colsample: f32,
    pub seed: u64,
}

impl Default for GbdtOptions {
    fn default() -> Self {
        let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<f64>().ok());
        GbdtOptions {
            rounds: env("VIGIL_GBDT_ROUNDS").map_or(150, |v| v as usize),
            depth: env("VIGIL_GBDT_DEPTH")
                .map_or(6, |v| v as usize)
                .clamp(1, 10),
            learning_rate: env("VIGIL_GBDT_LR").map_or(0.1, |v| v as f32),
            lambda: env("VIGIL_GBDT_LAMBDA").map_or(5.0, |v| v as f32),
            rows_per_round: env("VIGIL_GBDT_ROWS").map_or(150_000, |v| v as usize),
            colsample: env("VIGIL_GBDT_COLSAMPLE").map_or(0.8, |v| v as f32),
            seed: 1,
        }
    }
}

impl Forest {
    pub fn n_trees(&self) -> usize {
        self.features.len() / self.depth.max(1)
    }

    /// Consistent sizes, features among the first `n_inputs`.
    pub fn check(&self, n_inputs: usize) -> Result<(), String> {
        let t = self.n_trees();
        if self.depth == 0
            || self.depth > 12
            || self.base.len() != N_CLASSES
            || self.features.len() != t * self.depth
            || self.thresholds.len() != t * self.depth
            || self.leaves.len() != t * (1 << self.depth) * N_CLASSES
        {
            return Err("forest has inconsistent sizes".into());
        }
        if self.features.iter().any(|&f| usize::from(f) >= n_inputs) {
            return Err(format!(
                "forest splits on a feature beyond its {n_inputs} inputs"
            ));
        }
        if self.thresholds.iter().any(|t| t.is_nan()) || self.leaves.iter().any(|v| !v.is_finite())
        {
            return Err("forest has non-finite values".into());
        }
        Ok(())
    }

    /// Raw logits (before softmax) of one cell.
    pub fn logits(&self, x: &[f32]) -> [f32; N_CLASSES] {
        let d = self.depth;
        let mut z: [f32; N_CLASSES] = std::array::from_fn(|c| self.base[c]);
        let leaves_per = (1 << d) * N_CLASSES;
        for t in 0..self.n_trees() {
            let f = &self.features[t * d..(t + 1) * d];
            let th = &self.thresholds[t * d..(t + 1) * d];
            let mut idx = 0usize;
            for k in 0..d {
                idx |= usize::from(x[usize::from(f[k])] > th[k]) << k;
            }
            let leaf = &self.leaves[t * leaves_per + idx * N_CLASSES..][..N_CLASSES];
            for c in 0..N_CLASSES {
                z[c] += leaf[c];
            }
        }
        z
    }

    /// Class probabilities of one cell.
    pub fn predict(&self, x: &[f32]) -> [f32; N_CLASSES] {
        let mut z = self.logits(x);
        softmax(&mut z);
        z
    }

    /// Class probabilities of many cells. Tree by tree over blocks of cells, so a tree's splits
    /// and leaves stay in registers / L1 while the block's features are read.
    pub fn predict_batch(&self, xs: &[[f32; N_FEATURES]], out: &mut [[f32; N_CLASSES]]) {
        const BLOCK: usize = 64;
        let d = self.depth;
        let leaves_per = (1 << d) * N_CLASSES;
        let base: [f32; N_CLASSES] = std::array::from_fn(|c| self.base[c]);
        for (xb, ob) in xs.chunks(BLOCK).zip(out.chunks_mut(BLOCK)) {
            let mut z = [base; BLOCK];
            let z = &mut z[..xb.len()];
            for t in 0..self.n_trees() {
                let f = &self.features[t * d..(t + 1) * d];
                let th = &self.thresholds[t * d..(t + 1) * d];
                let leaves = &self.leaves[t * leaves_per..(t + 1) * leaves_per];
                for (x, zc) in xb.iter().zip(z.iter_mut()) {
                    let mut idx = 0usize;
                    for k in 0..d {
                        idx |= usize::from(x[usize::from(f[k])] > th[k]) << k;
                    }
                    let leaf = &leaves[idx * N_CLASSES..(idx + 1) * N_CLASSES];
                    for c in 0..N_CLASSES {
                        zc[c] += leaf[c];
                    }
                }
            }
            for (zc, o) in z.iter_mut().zip(ob.iter_mut()) {
                softmax(zc);
                *o = *zc;
            }
        }
    }
}

/// Quantile thresholds of one feature (ascending, distinct).
fn thresholds_of(values: &mut [f32]) -> Vec<f32> {
    values.sort_by(f32::total_cmp);
    let n = values.len();
    let mut out: Vec<f32> = Vec::with_capacity(BINS);
    if n == 0 {
        return out;
    }
    for i in 1..BINS {
        let a = values[(i * n / BINS).min(n - 1)];
        let b = values[(i * n / BINS).saturating_sub(1).min(n - 1)];
        // Midway between neighbouring values, so a threshold is never a sample value.
        let t = 0.5 * (a + b);
        if a.is_finite() && b.is_finite() && out.last().is_none_or(|l| t > *l) && t < values[n - 1]
        {
            out.push(t);
        }
    }
    out
}

/// Fits a forest on `x` (the features `allowed[k]` of the first `allowed.len()`), labels `y`
/// and per-row weights `w`.
/// With `start`, boosting continues from that forest (its trees are kept and new ones appended).
pub fn fit(
    x: &[[f32; N_FEATURES]],
    y: &[u8],
    w: &[f32],
    allowed: &[bool],
    o: &GbdtOptions,
    start: Option<&Forest>,
) -> Forest {
    let n = x.len();
    let nf = allowed.len();
    let mut rng = StdRng::seed_from_u64(o.seed);
    // Quantile thresholds from at most 100 000 rows.
    let stride = (n / 100_000).max(1);
    let thresholds: Vec<Vec<f32>> = (0..nf)
        .map(|f| {
            let mut v: Vec<f32> = x.iter().step_by(stride).map(|r| r[f]).collect();
            thresholds_of(&mut v)
        })
        .collect();
    // Bin of a value: how many thresholds it exceeds (so bin > j ⇔ value > thresholds[j]).
    let mut bins = vec![0u8; n * nf];
    for (i, r) in x.iter().enumerate() {
        for f in 0..nf {
            bins[i * nf + f] = thresholds[f].partition_point(|t| r[f] > *t) as u8;
        }
    }
    let mut forest = match start {
        Some(s) => s.clone(),
        None => {
            // Class priors (weighted) as the starting logits.
            let mut prior = [1e-3f64; N_CLASSES];
            for (yi, wi) in y.iter().zip(w) {
                prior[usize::from(*yi)] += f64::from(*wi);
            }
            let s: f64 = prior.iter().sum();
            Forest {
                depth: o.depth,
                base: prior.iter().map(|p| (p / s).ln() as f32).collect(),
                features: Vec::new(),
                thresholds: Vec::new(),
                leaves: Vec::new(),
            }
        }
    };
    let d = forest.depth;
    let n_leaves = 1usize << d;
    let mut logits: Vec<[f32; N_CLASSES]> = x.iter().map(|r| forest.logits(r)).collect();
    let mut grad = vec![[0f32; 2 * N_CLASSES]; n];
    let mut node = vec![0u32; n];
    let mut rows: Vec<usize> = Vec::with_capacity(n.min(o.rows_per_round));
    let nb = BINS;
    let k_factor = (N_CLASSES as f32 - 1.0) / N_CLASSES as f32;
    for _round in 0..o.rounds {
        // Gradients and hessians of the weighted softmax cross-entropy.
        for i in 0..n {
            let mut p = logits[i];
            softmax(&mut p);
            for c in 0..N_CLASSES {
                let t = f32::from(usize::from(y[i]) == c);
                grad[i][c] = w[i] * (p[c] - t);
                grad[i][N_CLASSES + c] = w[i] * (p[c] * (1.0 - p[c])).max(1e-6);
            }
        }
        rows.clear();
        let share = o.rows_per_round as f64 / n.max(1) as f64;
        if share >= 1.0 {
            rows.extend(0..n);
        } else {
            rows.extend((0..n).filter(|_| rng.random::<f64>() < share));
        }
        let mut usable: Vec<bool> = (0..nf)
            .map(|f| allowed[f] && rng.random::<f32>() < o.colsample)
            .collect();
        if !usable.iter().any(|u| *u) {
            usable.copy_from_slice(allowed);
        }
        for &i in &rows {
            node[i] = 0;
        }
        let mut tree_f = Vec::with_capacity(d);
        let mut tree_t = Vec::with_capacity(d);
        for level in 0..d {
            let nodes = 1usize << level;
            // hist[node][feature][bin] = (g per class, h per class)
            let mut hist = vec![[0f32; 2 * N_CLASSES]; nodes * nf * nb];
            for &i in &rows {
                let base = node[i] as usize * nf * nb;
                let g = &grad[i];
                let b = &bins[i * nf..(i + 1) * nf];
                for f in 0..nf {
                    let slot = &mut hist[base + f * nb + usize::from(b[f])];
                    for k in 0..2 * N_CLASSES {
                        slot[k] += g[k];
                    }
                }
            }
            let score = |s: &[f32; 2 * N_CLASSES]| -> f32 {
                (0..N_CLASSES)
                    .map(|c| s[c] * s[c] / (s[N_CLASSES + c] + o.lambda))
                    .sum()
            };
            let mut best: Option<(f32, usize, usize)> = None;
            for f in (0..nf).filter(|f| usable[*f]) {
                let nt = thresholds[f].len();
                if nt == 0 {
                    continue;
                }
                // Per node: running left sums over bins, and the node total.
                let mut gains = vec![0f32; nt];
                for nd in 0..nodes {
                    let h = &hist[(nd * nf + f) * nb..(nd * nf + f + 1) * nb];
                    let mut total = [0f32; 2 * N_CLASSES];
                    for s in h {
                        for k in 0..2 * N_CLASSES {
                            total[k] += s[k];
                        }
                    }
                    let mut left = [0f32; 2 * N_CLASSES];
                    for (j, gain) in gains.iter_mut().enumerate() {
                        for k in 0..2 * N_CLASSES {
                            left[k] += h[j][k];
                        }
                        let right: [f32; 2 * N_CLASSES] =
                            std::array::from_fn(|k| total[k] - left[k]);
                        *gain += score(&left) + score(&right);
                    }
                }
                for (j, g) in gains.iter().enumerate() {
                    if best.is_none_or(|b| *g > b.0) {
                        best = Some((*g, f, j));
                    }
                }
            }
            let (f, j) = best.map_or((0, usize::MAX), |b| (b.1, b.2));
            let t = if j == usize::MAX {
                f32::MAX
            } else {
                thresholds[f][j]
            };
            tree_f.push(f as u8);
            tree_t.push(t);
            for &i in &rows {
                let right = j != usize::MAX && usize::from(bins[i * nf + f]) > j;
                node[i] |= u32::from(right) << level;
            }
        }
        // Leaves: a Newton step per class from the drawn rows.
        let mut sums = vec![[0f32; 2 * N_CLASSES]; n_leaves];
        for &i in &rows {
            let s = &mut sums[node[i] as usize];
            for k in 0..2 * N_CLASSES {
                s[k] += grad[i][k];
            }
        }
        let mut leaves = vec![0f32; n_leaves * N_CLASSES];
        for (l, s) in sums.iter().enumerate() {
            for c in 0..N_CLASSES {
                leaves[l * N_CLASSES + c] =
                    -o.learning_rate * k_factor * s[c] / (s[N_CLASSES + c] + o.lambda);
            }
        }
        // Every row gets the round's update.
        for (i, r) in x.iter().enumerate() {
            let mut idx = 0usize;
            for k in 0..d {
                idx |= usize::from(r[usize::from(tree_f[k])] > tree_t[k]) << k;
            }
            for c in 0..N_CLASSES {
                logits[i][c] += leaves[idx * N_CLASSES + c];
            }
        }
        forest.features.extend(tree_f);
        forest.thresholds.extend(tree_t);
        forest.leaves.extend(leaves);
    }
    forest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xor_data(n: usize) -> (Vec<[f32; N_FEATURES]>, Vec<u8>) {
        let mut rng = StdRng::seed_from_u64(7);
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for _ in 0..n {
            let mut x = [0f32; N_FEATURES];
            for v in x.iter_mut() {
                *v = rng.random::<f32>();
            }
            // Four classes from two features, one of them an interaction no linear head can fit.
            let c = u8::from(x[0] > 0.5) * 2 + u8::from((x[1] > 0.5) ^ (x[0] > 0.5));
            xs.push(x);
            ys.push(c);
        }
        (xs, ys)
    }

    #[test]
    fn boosting_learns_an_interaction_and_batch_matches_one_by_one() {
        let (xs, ys) = xor_data(4000);
        let w = vec![1.0; xs.len()];
        let o = GbdtOptions {
            rounds: 40,
            depth: 3,
            ..GbdtOptions::default()
        };
        let f = fit(&xs, &ys, &w, &[true; 23], &o, None);
        f.check(23).unwrap();
        assert_eq!(f.n_trees(), 40);
        let (test, ty) = xor_data(500);
        let mut out = vec![[0f32; N_CLASSES]; test.len()];
        f.predict_batch(&test, &mut out);
        let mut right = 0;
        for ((x, p), y) in test.iter().zip(&out).zip(&ty) {
            let one = f.predict(x);
            for c in 0..N_CLASSES {
                assert!((one[c] - p[c]).abs() < 1e-5);
            }
            let best = (0..N_CLASSES)
                .max_by(|a, b| p[*a].total_cmp(&p[*b]))
                .unwrap();
            right += usize::from(best == usize::from(*y));
        }
        assert!(right > 470, "{right} of 500");
        // Continued boosting keeps the first trees.
        let more = fit(
            &xs[..200],
            &ys[..200],
            &w[..200],
            &[true; 23],
            &GbdtOptions { rounds: 5, ..o },
            Some(&f),
        );
        assert_eq!(more.n_trees(), 45);
        assert_eq!(&more.leaves[..f.leaves.len()], &f.leaves[..]);
    }

    #[test]
    fn bad_forests_are_refused() {
        let (xs, ys) = xor_data(300);
        let f = fit(
            &xs,
            &ys,
            &vec![1.0; 300],
            &[true; 23],
            &GbdtOptions {
                rounds: 3,
                depth: 2,
                ..GbdtOptions::default()
            },
            None,
        );
        assert!(f.check(23).is_ok());
        let mut bad = f.clone();
        bad.leaves.pop();
        assert!(bad.check(23).is_err());
        let mut bad = f;
        bad.features[0] = 30;
        assert!(bad.check(23).is_err());
    }
}

/// CPU time per megapixel of the feature pass and of each model kind's prediction, measured in
/// one process (`VIGIL_SPEED_MODEL=file.json cargo test --release --lib speed_per_mpx --
/// --ignored --nocapture`): process CPU time, so a busy shared machine inflates it less than
/// wall time.
#[cfg(test)]
mod speed {
    use crate::classify::features::{BandLuts, CELLS, Domain, N_FEATURES, tile_features_with};
    use crate::classify::model::{Model, N_CLASSES};
    use crate::ingest::raster::Role;
    use crate::tiling::layout::AnalysisTile;

    fn cpu_seconds() -> f64 {
        // SAFETY: getrusage fills the struct it is given.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
        let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 * 1e-6;
        t(u.ru_utime) + t(u.ru_stime)
    }

    #[test]
    #[ignore]
    fn speed_per_mpx() {
        // A textured RGBN tile: rows of green plants on soil, specks.
        let mut planes = vec![vec![0u16; 65536]; 4];
        for y in 0..256 {
            for x in 0..256 {
                let h = (x * 7919 + y * 104_729) % 97;
                let plant = (x / 6 + y / 9) % 3 != 0;
                let px = if plant {
                    [60 + h, 120 + h, 50 + h / 2, 180]
                } else {
                    [140 + h / 3, 110, 90, 90]
                };
                for b in 0..4 {
                    planes[b][y * 256 + x] = px[b] as u16;
                }
            }
        }
        let tile = AnalysisTile {
            sample_bytes: 1,
            roles: vec![Role::Red, Role::Green, Role::Blue, Role::Nir],
            planes,
            mask: vec![255; 65536],
        };
        let luts = BandLuts::uniform(Domain::for_tile(1, 0.0).lut(255));
        let reps = 400;
        let mpx = reps as f64 * 65536.0 / 1e6;
        let mut f = tile_features_with(&tile, &luts, true);
        for plant in [false, true, false, true] {
            let t0 = cpu_seconds();
            for _ in 0..reps {
                f = tile_features_with(&tile, &luts, plant);
            }
            let feat = cpu_seconds() - t0;
            println!(
                "features (plant features {plant}): {:.1} ms CPU per Mpx ({:.0} Mpx/s per core)",
                feat * 1e3 / mpx,
                mpx / feat
            );
        }
        let xs: Vec<[f32; N_FEATURES]> = f.values.clone();
        assert_eq!(xs.len(), CELLS * CELLS);
        let mut models = vec![("built-in".to_string(), Model::builtin())];
        if let Ok(p) = std::env::var("VIGIL_SPEED_MODEL") {
            for p in p.split(',') {
                models.push((p.to_string(), Model::load(std::path::Path::new(p)).unwrap()));
            }
        }
        for (name, m) in &models {
            for nir in [false, true] {
                let head = m.head(nir);
                let mut out = vec![[0f32; N_CLASSES]; xs.len()];
                let t0 = cpu_seconds();
                for _ in 0..reps {
                    head.predict_batch(&xs, &mut out);
                }
                let s = cpu_seconds() - t0;
                println!(
                    "{name} {} head ({}): {:.1} ms CPU per Mpx ({:.0} Mpx/s per core)",
                    head.bands,
                    head.kind,
                    s * 1e3 / mpx,
                    mpx / s
                );
            }
        }
    }
}
