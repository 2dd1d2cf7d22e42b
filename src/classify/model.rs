//! The vegetation model: multinomial logistic regression over standardised cell features and
//! their pairwise products (a quadratic decision surface), one head for RGB imagery and one for
//! RGB + NIR. Pure Rust at run time; the model is a versioned JSON file written by `vigil train`.
//!
//! Why not a crate: linfa/smartcore would add a large dependency tree for what is ~100 lines of
//! arithmetic here, and a JSON file we define ourselves stays readable and diffable in review.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::cnn::Cnn;
use super::features::{N_FEATURES, N_PLANT, N_RGB, N_RGBN};
use super::gbdt::Forest;

/// The classes, in output order.
pub const CLASSES: [&str; 4] = ["poppy", "cannabis", "other_vegetation", "non_vegetation"];
pub const N_CLASSES: usize = 4;
pub const POPPY: usize = 0;
pub const CANNABIS: usize = 1;

/// The file format tag. `/2`: features at the classification zoom after the survey's
/// photometric correction (`/1` models saw native-zoom, uncorrected features and are refused).
pub const FORMAT: &str = "vigil-vegetation-model/2";
/// The format tag of a model with a head of another [`Head::kind`] than the softmax one
/// (`/2` readers refuse it by its tag instead of misreading it).
pub const FORMAT_KINDS: &str = "vigil-vegetation-model/3";
/// Head kinds this build reads.
pub const KINDS: [&str; 3] = ["softmax", "gbdt", "cnn"];

fn softmax_kind() -> String {
    "softmax".into()
}
fn is_softmax(k: &str) -> bool {
    k == "softmax"
}

/// One linear head on expanded features.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Head {
    /// `rgb` or `rgbn`.
    pub bands: String,
    /// `softmax` (the quadratic softmax head below; absent from `/2` files) or `gbdt` (boosted
    /// trees in [`Head::forest`]; `mean` and `std` are then only the training cells'
    /// statistics, for the review panel's drivers).
    #[serde(default = "softmax_kind", skip_serializing_if = "is_softmax")]
    pub kind: String,
    /// Input features used (the first `n_inputs` of [`super::features::NAMES`]).
    pub n_inputs: usize,
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    /// `N_CLASSES` rows of weights over the expanded vector (inputs, then pairwise products).
    pub weights: Vec<Vec<f32>>,
    pub bias: Vec<f32>,
    /// `weights` transposed to one `[f32; 4]` per expanded input, so a cell's four logits are one
    /// vector multiply-add per input (filled by [`Head::prepare`]).
    #[serde(skip)]
    pub transposed: Vec<[f32; N_CLASSES]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forest: Option<Forest>,
    /// The network of a `cnn` head ([`super::cnn`]): it reads a tile's pixels, not the cell
    /// features (`mean` and `std` are then the training cells' feature statistics, for the
    /// review panel's drivers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnn: Option<Cnn>,
}

/// A trained model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Model {
    pub format: String,
    /// Stamped on every flag, so flags can be traced to the model that raised them.
    pub version: String,
    pub trained_at: String,
    /// How it was trained (scenes, seeds, counts, held-out accuracy).
    pub training: serde_json::Value,
    pub classes: Vec<String>,
    pub heads: Vec<Head>,
    /// Maps a flag's raw confidence to the probability that it is a real plot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
}

/// Platt scaling of a flag's raw confidence (the mean class probability over its cells):
/// `p = σ(a · logit(raw) + b)`, fitted on flags of held-out scenes that did or did not find a
/// plot (`vigil calibrate`). The review panel shows `p`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Calibration {
    pub a: f64,
    pub b: f64,
    /// What it was fitted on (scenes, flags) and the calibration error before and after.
    #[serde(default)]
    pub fitted_on: serde_json::Value,
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-4, 1.0 - 1e-4);
    (p / (1.0 - p)).ln()
}

impl Calibration {
    pub fn apply(&self, raw: f64) -> f64 {
        1.0 / (1.0 + (-(self.a * logit(raw) + self.b)).exp())
    }

    /// Fits `a`, `b` by Newton's method on the log-loss of `(raw confidence, found a plot)`
    /// pairs, with Platt's smoothed targets so that a perfectly separated set stays finite.
    pub fn fit(flags: &[(f64, bool)]) -> Option<Calibration> {
        let pos = flags.iter().filter(|f| f.1).count() as f64;
        let neg = flags.len() as f64 - pos;
        if flags.len() < 10 {
            return None;
        }
        let (t_pos, t_neg) = ((pos + 1.0) / (pos + 2.0), 1.0 / (neg + 2.0));
        let data: Vec<(f64, f64)> = flags
            .iter()
            .map(|&(c, ok)| (logit(c), if ok { t_pos } else { t_neg }))
            .collect();
        let loss = |a: f64, b: f64| -> f64 {
            data.iter()
                .map(|&(x, t)| {
                    let z = a * x + b;
                    // log(1 + e^z) - t z, stable for large |z|
                    z.max(0.0) + (-z.abs()).exp().ln_1p() - t * z
                })
                .sum()
        };
        let (mut a, mut b) = (1.0f64, 0.0f64);
        let mut current = loss(a, b);
        for _ in 0..100 {
            let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-9, 0.0, 1e-9);
            for &(x, t) in &data {
                let p = 1.0 / (1.0 + (-(a * x + b)).exp());
                let d = p - t;
                let w = p * (1.0 - p);
                ga += d * x;
                gb += d;
                haa += w * x * x;
                hab += w * x;
                hbb += w;
            }
            let det = haa * hbb - hab * hab;
            if det.abs() < 1e-12 {
                break;
            }
            let da = (hbb * ga - hab * gb) / det;
            let db = (haa * gb - hab * ga) / det;
            // Newton's step, halved until the loss goes down (Platt 1999, Lin et al. 2007).
            let mut step = 1.0;
            let mut improved = false;
            while step > 1e-6 {
                let (na, nb) = (a - step * da, b - step * db);
                let l = loss(na, nb);
                if l < current {
                    a = na;
                    b = nb;
                    current = l;
                    improved = true;
                    break;
                }
                step /= 2.0;
            }
            if !improved || (da.abs() + db.abs()) * step < 1e-9 {
                break;
            }
        }
        (a.is_finite() && b.is_finite()).then_some(Calibration {
            a,
            b,
            fitted_on: serde_json::Value::Null,
        })
    }
}

/// Why a model file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read model {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("model {path} is not a Vigil vegetation model: {message}")]
    Invalid { path: String, message: String },
}

/// Length of the expanded vector for `n` inputs.
pub fn expanded_len(n: usize) -> usize {
    n + n * (n + 1) / 2
}

/// Standardises `x` and appends every pairwise product (squares included) into `out`.
pub fn expand(x: &[f32], mean: &[f32], std: &[f32], out: &mut [f32]) {
    let n = mean.len();
    for i in 0..n {
        out[i] = (x[i] - mean[i]) / std[i];
    }
    let mut k = n;
    for i in 0..n {
        for j in i..n {
            out[k] = out[i] * out[j];
            k += 1;
        }
    }
}

/// Dot product with eight independent accumulators, so the compiler can vectorise it (a plain
/// iterator sum is a serial chain of dependent float adds).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut s = acc.iter().sum::<f32>();
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// Softmax in place.
pub fn softmax(z: &mut [f32; N_CLASSES]) {
    let m = z.iter().copied().fold(f32::MIN, f32::max);
    let mut s = 0.0;
    for v in z.iter_mut() {
        *v = (*v - m).exp();
        s += *v;
    }
    for v in z.iter_mut() {
        *v /= s;
    }
}

impl Head {
    /// Fills [`Head::transposed`] from `weights`.
    pub fn prepare(&mut self) {
        let e = self.weights.first().map_or(0, Vec::len);
        self.transposed = (0..e)
            .map(|j| std::array::from_fn(|c| self.weights[c][j]))
            .collect();
    }

    /// Class probabilities of one cell; `scratch` must hold [`expanded_len`] values.
    pub fn predict(&self, x: &[f32; N_FEATURES], scratch: &mut [f32]) -> [f32; N_CLASSES] {
        if let Some(f) = &self.forest {
            return f.predict(x);
        }
        if self.cnn.is_some() {
            // A network reads pixels, not one cell's features: it has no opinion here.
            return [1.0 / N_CLASSES as f32; N_CLASSES];
        }
        let n = self.n_inputs;
        expand(&x[..n], &self.mean, &self.std, scratch);
        let mut z: [f32; N_CLASSES] = std::array::from_fn(|c| self.bias[c]);
        if self.transposed.len() == scratch.len() {
            // Four independent accumulators: one chain of dependent adds would wait on latency.
            let mut acc = [[0f32; N_CLASSES]; 4];
            let xs = scratch.chunks_exact(4);
            let ws = self.transposed.chunks_exact(4);
            let (xr, wr) = (xs.remainder(), ws.remainder());
            for (x4, w4) in xs.zip(ws) {
                for k in 0..4 {
                    for c in 0..N_CLASSES {
                        acc[k][c] += x4[k] * w4[k][c];
                    }
                }
            }
            for (xj, wj) in xr.iter().zip(wr) {
                for c in 0..N_CLASSES {
                    acc[0][c] += xj * wj[c];
                }
            }
            for c in 0..N_CLASSES {
                z[c] += (acc[0][c] + acc[1][c]) + (acc[2][c] + acc[3][c]);
            }
        } else {
            for (c, zc) in z.iter_mut().enumerate() {
                *zc += dot(&self.weights[c], scratch);
            }
        }
        softmax(&mut z);
        z
    }

    /// Class probabilities of many cells: `out[i]` for `xs[i]`. Eight cells at a time, one per
    /// vector lane, so every expanded input is one vector product and four multiply-adds shared
    /// by the eight (against one scalar product and a 4-wide multiply-add per cell in
    /// [`Head::predict`], which this matches to rounding).
    pub fn predict_batch(&self, xs: &[[f32; N_FEATURES]], out: &mut [[f32; N_CLASSES]]) {
        use wide::f32x8;
        if let Some(f) = &self.forest {
            return f.predict_batch(xs, out);
        }
        if self.cnn.is_some() {
            out.fill([1.0 / N_CLASSES as f32; N_CLASSES]);
            return;
        }
        let n = self.n_inputs;
        if self.transposed.len() != expanded_len(n) {
            let mut scratch = vec![0.0; expanded_len(n)];
            for (x, o) in xs.iter().zip(out.iter_mut()) {
                *o = self.predict(x, &mut scratch);
            }
            return;
        }
        let mut std_x = [f32x8::ZERO; N_FEATURES];
        for (chunk, outs) in xs.chunks(8).zip(out.chunks_mut(8)) {
            for (i, sx) in std_x.iter_mut().enumerate().take(n) {
                let lanes: [f32; 8] = std::array::from_fn(|l| chunk.get(l).map_or(0.0, |x| x[i]));
                *sx = (f32x8::from(lanes) - f32x8::splat(self.mean[i])) / f32x8::splat(self.std[i]);
            }
            let mut z: [f32x8; N_CLASSES] = std::array::from_fn(|c| f32x8::splat(self.bias[c]));
            let w = &self.transposed;
            for i in 0..n {
                for (c, zc) in z.iter_mut().enumerate() {
                    *zc += std_x[i] * f32x8::splat(w[i][c]);
                }
            }
            let mut k = n;
            for i in 0..n {
                let xi = std_x[i];
                for xj in &std_x[i..n] {
                    let p = xi * *xj;
                    let wk = w[k];
                    for (c, zc) in z.iter_mut().enumerate() {
                        *zc += p * f32x8::splat(wk[c]);
                    }
                    k += 1;
                }
            }
            let z: [[f32; 8]; N_CLASSES] = z.map(|v| v.to_array());
            for (l, o) in outs.iter_mut().enumerate() {
                let mut zl: [f32; N_CLASSES] = std::array::from_fn(|c| z[c][l]);
                softmax(&mut zl);
                *o = zl;
            }
        }
    }

    fn check(&self) -> Result<(), String> {
        let n = self.n_inputs;
        if !(n == N_RGB || n == N_RGBN || n == N_PLANT || n == N_FEATURES) {
            return Err(format!("head {} uses {n} inputs", self.bands));
        }
        if !KINDS.contains(&self.kind.as_str()) {
            return Err(format!(
                "head {} is of kind {:?}, which this build cannot read (it reads {})",
                self.bands,
                self.kind,
                KINDS.join(", ")
            ));
        }
        if self.kind == "cnn" {
            let c = self
                .cnn
                .as_ref()
                .ok_or_else(|| format!("cnn head {} has no network", self.bands))?;
            c.check().map_err(|e| format!("head {}: {e}", self.bands))?;
            if self.forest.is_some()
                || self.mean.len() != n
                || self.std.len() != n
                || self.std.iter().any(|s| s.is_nan() || *s <= 0.0)
            {
                return Err(format!("head {} has inconsistent sizes", self.bands));
            }
            return Ok(());
        }
        if self.cnn.is_some() {
            return Err(format!(
                "{} head {} carries a network",
                self.kind, self.bands
            ));
        }
        if self.kind == "gbdt" {
            let f = self
                .forest
                .as_ref()
                .ok_or_else(|| format!("gbdt head {} has no forest", self.bands))?;
            f.check(n)
                .map_err(|e| format!("head {}: {e}", self.bands))?;
            if self.bands == "rgb"
                && f.features
                    .iter()
                    .any(|&k| !super::features::rgb_feature(usize::from(k)))
            {
                return Err(format!("rgb head {} splits on a NIR feature", self.bands));
            }
            if self.mean.len() != n
                || self.std.len() != n
                || self.std.iter().any(|s| s.is_nan() || *s <= 0.0)
            {
                return Err(format!("head {} has inconsistent sizes", self.bands));
            }
            return Ok(());
        }
        if self.forest.is_some() {
            return Err(format!("softmax head {} carries a forest", self.bands));
        }
        if n > N_RGBN {
            return Err(format!(
                "softmax head {} reads {n} inputs (at most {N_RGBN})",
                self.bands
            ));
        }
        let e = expanded_len(n);
        if self.mean.len() != n
            || self.std.len() != n
            || self.bias.len() != N_CLASSES
            || self.weights.len() != N_CLASSES
            || self.weights.iter().any(|w| w.len() != e)
            || self.std.iter().any(|s| s.is_nan() || *s <= 0.0)
        {
            return Err(format!("head {} has inconsistent sizes", self.bands));
        }
        Ok(())
    }
}

impl Model {
    /// The format tag for these heads: `/2` when all are softmax heads (what older builds read).
    pub fn format_for(heads: &[Head]) -> &'static str {
        if heads.iter().all(|h| h.kind == "softmax") {
            FORMAT
        } else {
            FORMAT_KINDS
        }
    }

    /// Whether a head reads the plant or structure features (27–39: only boosted trees do).
    pub fn reads_plant_features(&self) -> bool {
        self.heads.iter().any(|h| {
            h.forest.as_ref().is_some_and(|f| {
                f.features
                    .iter()
                    .any(|&k| usize::from(k) >= super::features::N_RGBN)
            })
        })
    }

    /// The network, when the model's heads are of kind `cnn` (they read pixels, not cell
    /// features: [`super::plots::classify_survey`] feeds them tiles).
    pub fn cnn(&self) -> Option<&Cnn> {
        self.heads.iter().find_map(|h| h.cnn.as_ref())
    }

    /// A flag's confidence as shown to reviewers: calibrated when the model carries a
    /// calibration, else the raw mean probability.
    pub fn confidence(&self, raw: f64) -> f64 {
        self.calibration.as_ref().map_or(raw, |c| c.apply(raw))
    }

    /// The head for imagery with or without NIR.
    pub fn head(&self, has_nir: bool) -> &Head {
        let want = if has_nir { "rgbn" } else { "rgb" };
        self.heads
            .iter()
            .find(|h| h.bands == want)
            .or_else(|| self.heads.iter().find(|h| h.bands == "rgb"))
            .expect("validated: an rgb head exists")
    }

    pub fn from_json(text: &str, path: &str) -> Result<Model, ModelError> {
        let invalid = |message: String| ModelError::Invalid {
            path: path.into(),
            message,
        };
        let mut m: Model = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if m.format != FORMAT && m.format != FORMAT_KINDS {
            return Err(invalid(format!(
                "format {:?}, expected {FORMAT:?} or {FORMAT_KINDS:?}",
                m.format
            )));
        }
        if m.format == FORMAT && m.heads.iter().any(|h| h.kind != "softmax") {
            return Err(invalid(format!(
                "a {FORMAT:?} file has softmax heads only (other kinds are {FORMAT_KINDS:?})"
            )));
        }
        if m.classes != CLASSES {
            return Err(invalid(format!(
                "classes {:?}, expected {CLASSES:?}",
                m.classes
            )));
        }
        if !m.heads.iter().any(|h| h.bands == "rgb") {
            return Err(invalid("no rgb head".into()));
        }
        for h in &mut m.heads {
            h.check().map_err(invalid)?;
            h.prepare();
        }
        Ok(m)
    }

    pub fn load(path: &Path) -> Result<Model, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Model::from_json(&text, &path.display().to_string())
    }

    /// Writes the model whole: to a `.part` file beside `path`, fsynced, renamed over `path`, the
    /// directory fsynced. A reader (or a crash) sees the old file or the new one, never half.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        use std::io::Write;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir)?;
        let name = path
            .file_name()
            .map_or_else(|| "model.json".into(), |n| n.to_string_lossy().to_string());
        let tmp = dir.join(format!(".{name}.part"));
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)? + "\n";
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        crate::upload::disk::fsync_dir(&dir)
    }

    /// The model shipped in the binary (`models/vigil-vegetation.json`, trained by `vigil train`).
    pub fn builtin() -> Model {
        Model::from_json(
            include_str!("../../models/vigil-vegetation.json"),
            "models/vigil-vegetation.json",
        )
        .expect("the built-in model is valid (checked by a test)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_learns_that_confident_flags_are_right_less_often_than_they_say() {
        // Flags at 0.9 are right half the time, at 0.6 a tenth of the time.
        let mut flags = Vec::new();
        for i in 0..200 {
            flags.push((0.9, i % 2 == 0));
            flags.push((0.6, i % 10 == 0));
        }
        let c = Calibration::fit(&flags).unwrap();
        assert!((c.apply(0.9) - 0.5).abs() < 0.03, "{}", c.apply(0.9));
        assert!((c.apply(0.6) - 0.1).abs() < 0.03, "{}", c.apply(0.6));
        assert!(Calibration::fit(&flags[..5]).is_none());
    }

    #[test]
    fn expansion_has_every_pair_once() {
        let x = [1.0, 2.0, 3.0];
        let mut out = vec![0.0; expanded_len(3)];
        expand(&x, &[0.0; 3], &[1.0; 3], &mut out);
        assert_eq!(out, vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 4.0, 6.0, 9.0]);
    }

    #[test]
    fn batch_prediction_matches_one_by_one() {
        let m = Model::builtin();
        for head in &m.heads {
            let xs: Vec<[f32; N_FEATURES]> = (0..21)
                .map(|i| std::array::from_fn(|k| ((i * 7 + k * 13) % 17) as f32 / 17.0 - 0.3))
                .collect();
            let mut out = vec![[0f32; N_CLASSES]; xs.len()];
            head.predict_batch(&xs, &mut out);
            let mut scratch = vec![0.0; expanded_len(head.n_inputs)];
            for (x, o) in xs.iter().zip(&out) {
                let one = head.predict(x, &mut scratch);
                for c in 0..N_CLASSES {
                    assert!((one[c] - o[c]).abs() < 1e-4, "{one:?} vs {o:?}");
                }
            }
        }
    }

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let mut z = [1.0, 3.0, 0.0, -2.0];
        softmax(&mut z);
        assert!((z.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(z[1] > z[0] && z[0] > z[2] && z[2] > z[3]);
    }

    #[test]
    fn gbdt_heads_round_trip_in_format_3_and_unknown_kinds_are_refused() {
        use crate::classify::gbdt::{GbdtOptions, fit};
        let xs: Vec<[f32; N_FEATURES]> = (0..400)
            .map(|i| std::array::from_fn(|k| ((i * 7 + k * 13) % 17) as f32 / 17.0))
            .collect();
        let ys: Vec<u8> = (0..400).map(|i| (i % 4) as u8).collect();
        let o = GbdtOptions {
            rounds: 4,
            depth: 3,
            ..GbdtOptions::default()
        };
        let forest = fit(&xs, &ys, &vec![1.0; 400], &[true; N_RGB], &o, None);
        let mut m = Model::builtin();
        m.heads.truncate(1);
        m.heads[0] = Head {
            kind: "gbdt".into(),
            weights: Vec::new(),
            bias: Vec::new(),
            transposed: Vec::new(),
            forest: Some(forest),
            ..m.heads[0].clone()
        };
        m.format = Model::format_for(&m.heads).into();
        assert_eq!(m.format, FORMAT_KINDS);
        let text = serde_json::to_string(&m).unwrap();
        let back = Model::from_json(&text, "g.json").unwrap();
        let mut out = vec![[0f32; N_CLASSES]; xs.len()];
        back.head(false).predict_batch(&xs, &mut out);
        let mut scratch = vec![0.0; 1];
        assert_eq!(out[5], back.head(false).predict(&xs[5], &mut scratch));
        // A `/2` reader's tag on a tree model, and a kind this build does not know: refused, named.
        let old = text.replace(FORMAT_KINDS, FORMAT);
        let err = Model::from_json(&old, "o.json").unwrap_err().to_string();
        assert!(err.contains("softmax heads only"), "{err}");
        let odd = text.replace("\"gbdt\"", "\"rnn\"");
        let err = Model::from_json(&odd, "c.json").unwrap_err().to_string();
        assert!(err.contains("\"rnn\"") && err.contains("c.json"), "{err}");
        // Softmax models keep the `/2` tag and no kind field (older builds read them).
        let soft = Model::builtin();
        assert_eq!(Model::format_for(&soft.heads), FORMAT);
        assert!(!serde_json::to_string(&soft).unwrap().contains("\"kind\""));
    }

    #[test]
    fn cnn_heads_round_trip_in_format_3_and_predict_tiles() {
        use crate::classify::cnn::Cnn;
        use crate::classify::features::CELLS;
        let mut m = Model::builtin();
        m.heads.truncate(1);
        m.heads[0] = Head {
            kind: "cnn".into(),
            weights: Vec::new(),
            bias: Vec::new(),
            transposed: Vec::new(),
            cnn: Some(Cnn::new(4, false)),
            ..m.heads[0].clone()
        };
        m.format = Model::format_for(&m.heads).into();
        assert_eq!(m.format, FORMAT_KINDS);
        let text = serde_json::to_string(&m).unwrap();
        let back = Model::from_json(&text, "n.json").unwrap();
        assert_eq!(back, m);
        // The RGB head serves RGBN surveys too; the network reads pixels.
        let net = back.cnn().expect("a network");
        assert!(std::ptr::eq(back.head(true), back.head(false)));
        let px = vec![0.3f32; 3 * 65536];
        let mut out = vec![[0f32; N_CLASSES]; CELLS * CELLS];
        net.predict_tile(&px, &[255; 65536], &mut out);
        assert!(
            out.iter()
                .all(|p| (p.iter().sum::<f32>() - 1.0).abs() < 1e-4)
        );
        // A network with a layer of another shape is refused, naming the file.
        let mut bad = m.clone();
        bad.heads[0].cnn.as_mut().unwrap().layers[2].b.push(0.0);
        let err = Model::from_json(&serde_json::to_string(&bad).unwrap(), "b.json")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("b.json") && err.contains("cnn layer 2"),
            "{err}"
        );
        // Softmax and tree models carry no network and load as before.
        assert!(Model::builtin().cnn().is_none());
    }

    #[test]
    fn the_builtin_model_loads_and_bad_files_are_named() {
        let m = Model::builtin();
        assert!(m.heads.iter().any(|h| h.bands == "rgbn"));
        let err = Model::from_json("{\"format\": \"x\"}", "m.json").unwrap_err();
        assert!(err.to_string().contains("m.json"), "{err}");
        let mut bad = m.clone();
        bad.heads[0].weights.pop();
        let text = serde_json::to_string(&bad).unwrap();
        assert!(
            Model::from_json(&text, "b.json")
                .unwrap_err()
                .to_string()
                .contains("sizes")
        );
    }
}
