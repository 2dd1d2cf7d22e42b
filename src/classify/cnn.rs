//! A small convolutional network on the pixels of a classification tile (issue 12, "a model
//! with the capacity to use structure"): a third head kind, `cnn`, beside the softmax head and
//! the boosted trees. It reads a tile's pixels at the classification zoom (7 cm) after the
//! survey's photometric correction and writes the same per-cell class probabilities the other
//! heads write, so the plot stage, `vigil eval` and calibration use it unchanged.
//!
//! Inputs per pixel are log colour ratios (red over green, blue over green: a gain per band is an
//! offset) and the log brightness against the tile's mean (an exposure is an offset), so white
//! balance and exposure only shift them; the rest is left to the network and to the domain
//! randomisation of training (colour temperature, saturation, gamma, haze, noise, blur, coarser
//! ground resolution, flips and quarter turns).
//!
//! The network: four 3 × 3 convolutions with ReLU (3 → 8 → 16 → 24 channels, each of the first
//! three with stride 2, so one output is one 8-pixel cell; then 24 → 24 at cell level for
//! context, a receptive field of 31 pixels, about 2.2 m) and a 1 × 1 convolution to the four
//! class logits. About 10 000 weights; forward and backward passes are hand-written here (no
//! crate), channels innermost so every tap is a multiply-add over the output channels, which the
//! compiler keeps in vector registers (`COUT` is a const parameter).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::features::{CELL, CELLS};
use super::model::N_CLASSES;

/// Tile side in pixels.
pub const SIDE: usize = 256;
/// Input channels of the network (see [`inputs`]).
pub const IN_CH: usize = 3;

/// One convolution layer, weights `[(ky · k + kx) · cin + ci] · cout + oc`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Conv {
    pub cin: usize,
    pub cout: usize,
    pub k: usize,
    pub stride: usize,
    /// Input pixels before the first tap (output `o` reads `o · stride + t − pad`, `t < k`).
    pub pad: usize,
    pub w: Vec<f32>,
    pub b: Vec<f32>,
}

/// The network: ReLU after every layer but the last, whose outputs are the class logits.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Cnn {
    pub layers: Vec<Conv>,
    /// Whether the display colour values (R, G, B after the survey's correction) are three more
    /// inputs beside the log ratios (`VIGIL_CNN_INPUT=colour` when training).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub colour: bool,
}

/// Layer shapes: (cin, cout, k, stride, pad). Output centres of the strided layers fall at
/// pixel 8 m + 3 of cell m (pads 0, 0, 1), the middle of the cell.
const ARCH: [(usize, usize, usize, usize, usize); 5] = [
    (IN_CH, 8, 3, 2, 0),
    (8, 16, 3, 2, 0),
    (16, 24, 3, 2, 1),
    (24, 24, 3, 1, 1),
    (24, N_CLASSES, 1, 1, 0),
];

impl Conv {
    fn out_side(&self, side: usize) -> usize {
        side / self.stride
    }
}

fn gauss(rng: &mut StdRng) -> f32 {
    let u: f32 = rng.random_range(1e-7..1.0);
    let v: f32 = rng.random_range(0.0..1.0);
    (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
}

impl Cnn {
    /// He-initialised weights.
    pub fn new(seed: u64, colour: bool) -> Cnn {
        let mut rng = StdRng::seed_from_u64(seed);
        let in_ch = if colour { 2 * IN_CH } else { IN_CH };
        let layers = ARCH
            .iter()
            .enumerate()
            .map(|(i, &(cin, cout, k, stride, pad))| {
                let cin = if i == 0 { in_ch } else { cin };
                let fan = (k * k * cin) as f32;
                let sd = (2.0 / fan).sqrt();
                Conv {
                    cin,
                    cout,
                    k,
                    stride,
                    pad,
                    w: (0..k * k * cin * cout)
                        .map(|_| gauss(&mut rng) * sd)
                        .collect(),
                    b: vec![0.0; cout],
                }
            })
            .collect();
        Cnn { layers, colour }
    }

    /// Input channels.
    pub fn in_ch(&self) -> usize {
        if self.colour { 2 * IN_CH } else { IN_CH }
    }

    /// Whether the layers have the shapes this build runs.
    pub fn check(&self) -> Result<(), String> {
        if self.layers.len() != ARCH.len() {
            return Err(format!(
                "cnn has {} layers, expected {}",
                self.layers.len(),
                ARCH.len()
            ));
        }
        for (i, (l, mut a)) in self.layers.iter().zip(ARCH).enumerate() {
            if i == 0 {
                a.0 = self.in_ch();
            }
            if (l.cin, l.cout, l.k, l.stride, l.pad) != a
                || l.w.len() != l.k * l.k * l.cin * l.cout
                || l.b.len() != l.cout
                || l.w.iter().chain(&l.b).any(|v| !v.is_finite())
            {
                return Err(format!("cnn layer {i} has an unexpected shape or values"));
            }
        }
        Ok(())
    }

    /// Multiply-adds per input pixel (for the speed report).
    pub fn macs_per_pixel(&self) -> f64 {
        let mut side = SIDE;
        let mut macs = 0.0;
        for l in &self.layers {
            side = l.out_side(side);
            macs += (side * side * l.k * l.k * l.cin * l.cout) as f64;
        }
        macs / (SIDE * SIDE) as f64
    }

    /// Forward pass over a square `side`² input (HWC, [`IN_CH`] channels); returns every
    /// layer's output (post-ReLU but the last), HWC.
    fn forward_all(&self, input: &[f32], side: usize) -> Vec<Vec<f32>> {
        let mut acts: Vec<Vec<f32>> = Vec::with_capacity(self.layers.len());
        let mut s = side;
        for (i, l) in self.layers.iter().enumerate() {
            let so = l.out_side(s);
            let mut out = vec![0f32; so * so * l.cout];
            let inp = if i == 0 { input } else { &acts[i - 1] };
            let relu = i + 1 < self.layers.len();
            conv_forward(l, inp, s, &mut out, so, relu);
            acts.push(out);
            s = so;
        }
        acts
    }

    /// Class probabilities of every cell of a tile: `pixels` are display values 0..1 (HWC,
    /// R G B) after the survey's correction, `mask` the footprint; `out` gets
    /// [`CELLS`]² rows in cell order.
    pub fn predict_tile(&self, pixels: &[f32], mask: &[u8], out: &mut [[f32; N_CLASSES]]) {
        let x = inputs(pixels, mask, SIDE, self.colour);
        let acts = self.forward_all(&x, SIDE);
        let logits = acts.last().expect("layers");
        for (c, o) in out.iter_mut().enumerate().take(CELLS * CELLS) {
            let mut z: [f32; N_CLASSES] = std::array::from_fn(|k| logits[c * N_CLASSES + k]);
            super::model::softmax(&mut z);
            *o = z;
        }
    }
}

/// The network's inputs from display values (HWC R G B, 0..1) and a footprint mask, `side`²
/// pixels: ln(R/G), ln(B/G) and ln brightness minus its mean over the valid pixels; zero outside
/// the footprint; with `colour`, the display values R, G, B as three more.
pub fn inputs(pixels: &[f32], mask: &[u8], side: usize, colour: bool) -> Vec<f32> {
    const E: f32 = 0.02;
    const STEPS: usize = 4096;
    // ln(x + E) over 0..1 in 4096 steps (a table: three logs per pixel cost as much as a layer).
    static LN: std::sync::OnceLock<Vec<f32>> = std::sync::OnceLock::new();
    let table = LN.get_or_init(|| {
        (0..=STEPS)
            .map(|i| (i as f32 / STEPS as f32 + E).ln())
            .collect()
    });
    let ln = |v: f32| table[((v.clamp(0.0, 1.0) * STEPS as f32) + 0.5) as usize];
    let n = side * side;
    let ch = if colour { 2 * IN_CH } else { IN_CH };
    let mut x = vec![0f32; n * ch];
    let (mut sum, mut cnt) = (0f64, 0usize);
    for i in 0..n {
        if mask[i] == 0 {
            continue;
        }
        let (r, g, b) = (pixels[3 * i], pixels[3 * i + 1], pixels[3 * i + 2]);
        let lg = ln(g);
        let l = ln((r + g + b) / 3.0);
        x[ch * i] = ln(r) - lg;
        x[ch * i + 1] = ln(b) - lg;
        x[ch * i + 2] = l;
        if colour {
            x[ch * i + 3..ch * i + 6].copy_from_slice(&[r, g, b]);
        }
        sum += f64::from(l);
        cnt += 1;
    }
    if cnt > 0 {
        let m = (sum / cnt as f64) as f32;
        for i in (0..n).filter(|i| mask[*i] != 0) {
            x[ch * i + 2] -= m;
        }
    }
    x
}

fn conv_forward(l: &Conv, inp: &[f32], side: usize, out: &mut [f32], so: usize, relu: bool) {
    match l.cout {
        4 => fwd::<4>(l, inp, side, out, so, relu),
        8 => fwd::<8>(l, inp, side, out, so, relu),
        16 => fwd::<16>(l, inp, side, out, so, relu),
        24 => fwd::<24>(l, inp, side, out, so, relu),
        c => unreachable!("checked: {c} output channels"),
    }
}

#[inline(always)]
fn tap(o: usize, t: usize, stride: usize, pad: usize, side: usize) -> Option<usize> {
    let i = (o * stride + t).checked_sub(pad)?;
    (i < side).then_some(i)
}

fn fwd<const CO: usize>(
    l: &Conv,
    inp: &[f32],
    side: usize,
    out: &mut [f32],
    so: usize,
    relu: bool,
) {
    let (cin, k) = (l.cin, l.k);
    let bias: [f32; CO] = l.b[..CO].try_into().expect("checked");
    for oy in 0..so {
        for ox in 0..so {
            let mut acc = bias;
            for ky in 0..k {
                let Some(iy) = tap(oy, ky, l.stride, l.pad, side) else {
                    continue;
                };
                for kx in 0..k {
                    let Some(ix) = tap(ox, kx, l.stride, l.pad, side) else {
                        continue;
                    };
                    let xin = &inp[(iy * side + ix) * cin..][..cin];
                    let wt = &l.w[(ky * k + kx) * cin * CO..][..cin * CO];
                    for (&v, wr) in xin.iter().zip(wt.chunks_exact(CO)) {
                        if v == 0.0 {
                            continue;
                        }
                        let wr: &[f32; CO] = wr.try_into().expect("CO");
                        for o in 0..CO {
                            acc[o] += v * wr[o];
                        }
                    }
                }
            }
            if relu {
                for a in acc.iter_mut() {
                    *a = a.max(0.0);
                }
            }
            out[(oy * so + ox) * CO..][..CO].copy_from_slice(&acc);
        }
    }
}

/// Gradients of one layer: weight and bias gradients accumulate into `dw`, `db`; the input's
/// gradient into `din` when given (only where the input is non-zero: a ReLU output that is zero
/// passes no gradient back anyway, and the first layer needs none).
#[allow(clippy::too_many_arguments)]
fn bwd<const CO: usize>(
    l: &Conv,
    inp: &[f32],
    side: usize,
    dout: &[f32],
    so: usize,
    dw: &mut [f32],
    db: &mut [f32],
    mut din: Option<&mut [f32]>,
) {
    let (cin, k) = (l.cin, l.k);
    for oy in 0..so {
        for ox in 0..so {
            let g: &[f32; CO] = dout[(oy * so + ox) * CO..][..CO].try_into().expect("CO");
            if g.iter().all(|v| *v == 0.0) {
                continue;
            }
            for o in 0..CO {
                db[o] += g[o];
            }
            for ky in 0..k {
                let Some(iy) = tap(oy, ky, l.stride, l.pad, side) else {
                    continue;
                };
                for kx in 0..k {
                    let Some(ix) = tap(ox, kx, l.stride, l.pad, side) else {
                        continue;
                    };
                    let at = (iy * side + ix) * cin;
                    let xin = &inp[at..][..cin];
                    let wo = (ky * k + kx) * cin * CO;
                    for ci in 0..cin {
                        let v = xin[ci];
                        if v == 0.0 {
                            continue;
                        }
                        let dwr: &mut [f32; CO] = (&mut dw[wo + ci * CO..wo + ci * CO + CO])
                            .try_into()
                            .expect("CO");
                        for o in 0..CO {
                            dwr[o] += v * g[o];
                        }
                        if let Some(d) = din.as_deref_mut() {
                            let wr: &[f32; CO] =
                                l.w[wo + ci * CO..wo + ci * CO + CO].try_into().expect("CO");
                            let mut s = 0.0;
                            for o in 0..CO {
                                s += wr[o] * g[o];
                            }
                            d[at + ci] += s;
                        }
                    }
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn conv_backward(
    l: &Conv,
    inp: &[f32],
    side: usize,
    dout: &[f32],
    so: usize,
    dw: &mut [f32],
    db: &mut [f32],
    din: Option<&mut [f32]>,
) {
    match l.cout {
        4 => bwd::<4>(l, inp, side, dout, so, dw, db, din),
        8 => bwd::<8>(l, inp, side, dout, so, dw, db, din),
        16 => bwd::<16>(l, inp, side, dout, so, dw, db, din),
        24 => bwd::<24>(l, inp, side, dout, so, dw, db, din),
        c => unreachable!("checked: {c} output channels"),
    }
}

/// One training tile: display values quantised to bytes (HWC R G B; all three zero outside the
/// footprint) and the class of every cell (255: not trained on).
#[derive(Debug, Clone)]
pub struct TrainTile {
    pub rgb: Vec<u8>,
    pub labels: Vec<u8>,
}

/// Label of a cell left out of the loss.
pub const IGNORE: u8 = 255;

/// Training options.
#[derive(Debug, Clone)]
pub struct CnnOptions {
    pub steps: usize,
    pub batch: usize,
    /// Crop side in pixels (a multiple of [`CELL`]).
    pub crop: usize,
    pub learning_rate: f32,
    pub l2: f32,
    pub seed: u64,
    pub threads: usize,
    /// [`Cnn::colour`].
    pub colour: bool,
}

impl Default for CnnOptions {
    fn default() -> Self {
        let env = |k: &str, d: usize| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(d)
        };
        CnnOptions {
            steps: env("VIGIL_CNN_STEPS", 2500),
            batch: 16,
            crop: 128,
            learning_rate: 3e-3,
            l2: 1e-4,
            seed: 1,
            threads: 2,
            colour: std::env::var("VIGIL_CNN_INPUT").is_ok_and(|v| v == "colour"),
        }
    }
}

/// How hard crops are randomised: `VIGIL_CNN_AUG=strong` widens the colour draws (band gains
/// ±0.6 in log, saturation 0.2–1.5, a fifth of the crops without colour) and coarsens more
/// crops (a quarter to 14 cm, a fifth to 28 cm); the default is the first setting measured.
#[derive(Debug, Clone, Copy)]
struct AugmentStrength {
    gain: f32,
    sat: (f32, f32),
    gray: f64,
    coarse2: f32,
    coarse4: f32,
    blur: f32,
}

fn strength() -> AugmentStrength {
    if std::env::var("VIGIL_CNN_AUG").is_ok_and(|v| v == "strong") {
        AugmentStrength {
            gain: 0.6,
            sat: (0.2, 1.5),
            gray: 0.2,
            coarse2: 0.25,
            coarse4: 0.2,
            blur: 0.15,
        }
    } else {
        AugmentStrength {
            gain: 0.4,
            sat: (0.45, 1.3),
            gray: 0.0,
            coarse2: 0.35,
            coarse4: 0.0,
            blur: 0.15,
        }
    }
}

/// Replaces every `f` × `f` block of a crop with its mean (a coarser ground resolution).
fn coarsen(px: &mut [f32], side: usize, f: usize) {
    for y in (0..side).step_by(f) {
        for x in (0..side).step_by(f) {
            for k in 0..3 {
                let mut m = 0.0;
                for yy in y..y + f {
                    for xx in x..x + f {
                        m += px[3 * (yy * side + xx) + k];
                    }
                }
                m /= (f * f) as f32;
                for yy in y..y + f {
                    for xx in x..x + f {
                        px[3 * (yy * side + xx) + k] = m;
                    }
                }
            }
        }
    }
}

/// Random photometric and geometric changes of one crop (display values, HWC).
fn augment_crop(px: &mut [f32], mask: &[u8], labels: &mut [u8], side: usize, rng: &mut StdRng) {
    let st = strength();
    // Colour temperature / tint / exposure / haze in linear light, then a tone curve.
    let gr = rng.random_range(-st.gain..st.gain).exp();
    let gb = rng.random_range(-st.gain..st.gain).exp();
    let gg = rng.random_range(-0.1..0.1f32).exp();
    let exposure = rng.random_range(-0.8..0.6f32).exp();
    let haze = if rng.random_bool(0.3) {
        rng.random_range(0.0..0.15f32)
    } else {
        0.0
    };
    let gamma = rng.random_range(0.75..1.3f32) / 2.2;
    let sat = if st.gray > 0.0 && rng.random_bool(st.gray) {
        0.0
    } else {
        rng.random_range(st.sat.0..st.sat.1)
    };
    let noise = rng.random_range(0.0..0.03f32);
    let gains = [gr, gg, gb];
    let air = [0.9, 0.95, 1.1];
    let n = side * side;
    for i in 0..n {
        if mask[i] == 0 {
            continue;
        }
        let mut c = [0f32; 3];
        for k in 0..3 {
            let lin = px[3 * i + k].max(0.0).powf(2.2) * gains[k] * exposure;
            let lin = lin * (1.0 - haze) + haze * air[k];
            c[k] = lin.clamp(0.0, 1.0).powf(gamma);
        }
        let m = (c[0] + c[1] + c[2]) / 3.0;
        for k in 0..3 {
            let nz: f32 = (0..3).map(|_| rng.random_range(-1.0..1.0f32)).sum::<f32>() * 0.58;
            px[3 * i + k] = (m + sat * (c[k] - m) + noise * nz).clamp(0.0, 1.0);
        }
    }
    // Coarser ground resolution (2 × 2 or 4 × 4 means repeated) or a blur.
    let r: f32 = rng.random_range(0.0..1.0);
    if r < st.coarse2 {
        coarsen(px, side, 2);
    } else if r < st.coarse2 + st.coarse4 {
        coarsen(px, side, 4);
    } else if r < st.coarse2 + st.coarse4 + st.blur {
        let src = px.to_vec();
        for y in 0..side {
            for x in 0..side {
                for k in 0..3 {
                    let mut s = 0.0;
                    for dy in [-1i32, 0, 1] {
                        for dx in [-1i32, 0, 1] {
                            let yy = (y as i32 + dy).clamp(0, side as i32 - 1) as usize;
                            let xx = (x as i32 + dx).clamp(0, side as i32 - 1) as usize;
                            s += src[3 * (yy * side + xx) + k];
                        }
                    }
                    px[3 * (y * side + x) + k] = s / 9.0;
                }
            }
        }
    }
    // A quarter turn and / or a mirror, for pixels and cell labels alike.
    let turns = rng.random_range(0..4u8);
    let mirror = rng.random_bool(0.5);
    if turns > 0 || mirror {
        let map = |x: usize, y: usize, s: usize| -> (usize, usize) {
            let (mut x, mut y) = (x, y);
            if mirror {
                x = s - 1 - x;
            }
            for _ in 0..turns {
                (x, y) = (s - 1 - y, x);
            }
            (x, y)
        };
        let src = px.to_vec();
        for y in 0..side {
            for x in 0..side {
                let (nx, ny) = map(x, y, side);
                px[3 * (ny * side + nx)..][..3].copy_from_slice(&src[3 * (y * side + x)..][..3]);
            }
        }
        let cs = side / CELL;
        let lsrc = labels.to_vec();
        for y in 0..cs {
            for x in 0..cs {
                let (nx, ny) = map(x, y, cs);
                labels[ny * cs + nx] = lsrc[y * cs + x];
            }
        }
    }
}

/// Cuts a crop of `side` pixels at cell `(cx, cy)` of a tile, with its cells' labels.
fn crop(t: &TrainTile, cx: usize, cy: usize, side: usize) -> (Vec<f32>, Vec<u8>, Vec<u8>) {
    let cs = side / CELL;
    let (x0, y0) = (cx * CELL, cy * CELL);
    let mut px = vec![0f32; side * side * 3];
    let mut mask = vec![0u8; side * side];
    for y in 0..side {
        for x in 0..side {
            let s = 3 * ((y0 + y) * SIDE + x0 + x);
            let v = &t.rgb[s..s + 3];
            if v.iter().any(|b| *b != 0) {
                mask[y * side + x] = 1;
                for k in 0..3 {
                    px[3 * (y * side + x) + k] = f32::from(v[k]) / 255.0;
                }
            }
        }
    }
    let mut labels = vec![IGNORE; cs * cs];
    for y in 0..cs {
        for x in 0..cs {
            labels[y * cs + x] = t.labels[(cy + y) * CELLS + cx + x];
        }
    }
    (px, mask, labels)
}

/// Gradients of one crop into `grads` (laid out as the layers' w then b); returns its loss sum
/// and weight sum.
fn crop_gradients(
    net: &Cnn,
    x: &[f32],
    labels: &[u8],
    side: usize,
    cw: &[f32; N_CLASSES],
    grads: &mut [(Vec<f32>, Vec<f32>)],
) -> (f64, f64) {
    let acts = net.forward_all(x, side);
    let nl = net.layers.len();
    let sides: Vec<usize> = {
        let mut s = side;
        let mut v = vec![side];
        for l in &net.layers {
            s = l.out_side(s);
            v.push(s);
        }
        v
    };
    let logits = &acts[nl - 1];
    let mut d = vec![0f32; logits.len()];
    let (mut loss, mut wsum) = (0f64, 0f64);
    for (c, &y) in labels.iter().enumerate() {
        if y == IGNORE {
            continue;
        }
        let mut z: [f32; N_CLASSES] = std::array::from_fn(|k| logits[c * N_CLASSES + k]);
        super::model::softmax(&mut z);
        let w = cw[y as usize];
        loss -= f64::from(w * z[y as usize].max(1e-7).ln());
        wsum += f64::from(w);
        for k in 0..N_CLASSES {
            d[c * N_CLASSES + k] = w * (z[k] - f32::from(k == y as usize));
        }
    }
    if wsum == 0.0 {
        return (0.0, 0.0);
    }
    for i in (0..nl).rev() {
        let l = &net.layers[i];
        let inp: &[f32] = if i == 0 { x } else { &acts[i - 1] };
        let mut din = (i > 0).then(|| vec![0f32; inp.len()]);
        let (dw, db) = &mut grads[i];
        conv_backward(
            l,
            inp,
            sides[i],
            &d,
            sides[i + 1],
            dw,
            db,
            din.as_deref_mut(),
        );
        if let Some(mut g) = din {
            // Through the previous layer's ReLU.
            for (gv, a) in g.iter_mut().zip(inp) {
                if *a <= 0.0 {
                    *gv = 0.0;
                }
            }
            d = std::mem::take(&mut g);
        }
    }
    (loss, wsum)
}

/// Per layer: the weights' and the biases' gradients (or Adam moments).
type Grads = Vec<(Vec<f32>, Vec<f32>)>;

/// One Adam step's constants.
struct Adam {
    /// 1 / the batch's weight sum.
    inv: f32,
    lr: f32,
    c1: f32,
    c2: f32,
    b1: f32,
    b2: f32,
    eps: f32,
}

impl Adam {
    fn apply(&self, params: &mut [f32], grad: &[f32], m: &mut [f32], v: &mut [f32], l2: f32) {
        for (((p, g), m), v) in params.iter_mut().zip(grad).zip(m).zip(v) {
            let g = g * self.inv + l2 * *p;
            *m = self.b1 * *m + (1.0 - self.b1) * g;
            *v = self.b2 * *v + (1.0 - self.b2) * g * g;
            *p -= self.lr * (*m / self.c1) / ((*v / self.c2).sqrt() + self.eps);
        }
    }
}

/// Trains a network on tiles; `log` gets progress lines.
pub fn fit(tiles: &[TrainTile], o: &CnnOptions, log: &mut dyn FnMut(&str)) -> Cnn {
    let mut net = Cnn::new(o.seed, o.colour);
    // Class weights: inverse frequency, square-rooted (as the other heads).
    let mut counts = [0f64; N_CLASSES];
    for t in tiles {
        for &l in &t.labels {
            if l != IGNORE {
                counts[l as usize] += 1.0;
            }
        }
    }
    let total: f64 = counts.iter().sum();
    let cw: [f32; N_CLASSES] = std::array::from_fn(|c| {
        if counts[c] > 0.0 {
            (total / (N_CLASSES as f64 * counts[c])).sqrt() as f32
        } else {
            0.0
        }
    });
    log(&format!(
        "cnn: {} tiles, labelled cells per class {:?}, class weights {:?}",
        tiles.len(),
        counts,
        cw
    ));
    // Cells of the target classes, to centre half the crops on (plots are a small share).
    let targets: Vec<(usize, usize)> = tiles
        .iter()
        .enumerate()
        .flat_map(|(i, t)| {
            t.labels
                .iter()
                .enumerate()
                .filter(|(_, l)| **l < 2)
                .map(move |(c, _)| (i, c))
        })
        .collect();
    let side = o.crop;
    let cs = side / CELL;
    let mut rng = StdRng::seed_from_u64(o.seed ^ 0x5eed);
    let zero = |n: &Cnn| -> Grads {
        n.layers
            .iter()
            .map(|l| (vec![0f32; l.w.len()], vec![0f32; l.b.len()]))
            .collect()
    };
    let mut m1 = zero(&net);
    let mut m2 = zero(&net);
    let (b1, b2, eps) = (0.9f32, 0.999f32, 1e-8f32);
    let started = std::time::Instant::now();
    let (mut run_loss, mut run_w) = (0f64, 0f64);
    for step in 0..o.steps {
        // Draw the batch's crops (serially, so a seed gives the same run whatever the threads).
        let mut batch = Vec::with_capacity(o.batch);
        for _ in 0..o.batch {
            let (ti, cx, cy) = if !targets.is_empty() && rng.random_bool(0.5) {
                let (ti, c) = targets[rng.random_range(0..targets.len())];
                let (x, y) = (c % CELLS, c / CELLS);
                let jx = rng.random_range(0..cs);
                let jy = rng.random_range(0..cs);
                (
                    ti,
                    x.saturating_sub(jx).min(CELLS - cs),
                    y.saturating_sub(jy).min(CELLS - cs),
                )
            } else {
                (
                    rng.random_range(0..tiles.len()),
                    rng.random_range(0..=CELLS - cs),
                    rng.random_range(0..=CELLS - cs),
                )
            };
            let (mut px, mask, mut labels) = crop(&tiles[ti], cx, cy, side);
            let seed: u64 = rng.random();
            let mut crng = StdRng::seed_from_u64(seed);
            augment_crop(&mut px, &mask, &mut labels, side, &mut crng);
            // The mask turns with the pixels: recompute it from the (turned) pixels' footprint.
            let mask2: Vec<u8> = (0..side * side)
                .map(|i| u8::from(px[3 * i..3 * i + 3].iter().any(|v| *v > 0.0)))
                .collect();
            let x = inputs(&px, &mask2, side, net.colour);
            batch.push((x, labels));
        }
        let threads = o.threads.max(1);
        let per = o.batch.div_ceil(threads);
        let parts: Vec<(Grads, f64, f64)> = std::thread::scope(|s| {
            let hs: Vec<_> = batch
                .chunks(per)
                .map(|chunk| {
                    let net = &net;
                    let cw = &cw;
                    s.spawn(move || {
                        let mut g = zero(net);
                        let (mut ls, mut ws) = (0.0, 0.0);
                        for (x, labels) in chunk {
                            let (l, w) = crop_gradients(net, x, labels, side, cw, &mut g);
                            ls += l;
                            ws += w;
                        }
                        (g, ls, ws)
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().expect("thread")).collect()
        });
        let wsum: f64 = parts.iter().map(|p| p.2).sum();
        run_loss += parts.iter().map(|p| p.1).sum::<f64>();
        run_w += wsum;
        if wsum == 0.0 {
            continue;
        }
        let inv = (1.0 / wsum) as f32;
        let t = (step + 1) as i32;
        let (c1, c2) = (1.0 - b1.powi(t), 1.0 - b2.powi(t));
        // Linear warm-up over 100 steps, then a cosine decay.
        let frac = step as f32 / o.steps as f32;
        let lr = o.learning_rate
            * ((step + 1) as f32 / 100.0).min(1.0)
            * (0.5 * (1.0 + (std::f32::consts::PI * frac).cos())).max(0.02);
        let mut sum = zero(&net);
        for p in &parts {
            for (s, g) in sum.iter_mut().zip(&p.0) {
                for (a, b) in s.0.iter_mut().zip(&g.0) {
                    *a += b;
                }
                for (a, b) in s.1.iter_mut().zip(&g.1) {
                    *a += b;
                }
            }
        }
        let step_of = Adam {
            inv,
            lr,
            c1,
            c2,
            b1,
            b2,
            eps,
        };
        for ((layer, (gw, gb)), ((m1w, m1b), (m2w, m2b))) in net
            .layers
            .iter_mut()
            .zip(&sum)
            .zip(m1.iter_mut().zip(m2.iter_mut()))
        {
            step_of.apply(&mut layer.w, gw, m1w, m2w, o.l2);
            step_of.apply(&mut layer.b, gb, m1b, m2b, 0.0);
        }
        if (step + 1) % 250 == 0 || step + 1 == o.steps {
            log(&format!(
                "cnn step {}/{}: loss {:.4} ({:.0} s)",
                step + 1,
                o.steps,
                run_loss / run_w.max(1e-9),
                started.elapsed().as_secs_f64()
            ));
            run_loss = 0.0;
            run_w = 0.0;
        }
    }
    net
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_check_and_cells_come_out() {
        let net = Cnn::new(3, false);
        net.check().unwrap();
        let px = vec![0.4f32; SIDE * SIDE * 3];
        let mask = vec![255u8; SIDE * SIDE];
        let mut out = vec![[0f32; N_CLASSES]; CELLS * CELLS];
        net.predict_tile(&px, &mask, &mut out);
        for p in &out {
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4, "{p:?}");
        }
        let mut bad = net.clone();
        bad.layers[1].w.pop();
        assert!(bad.check().is_err());
    }

    #[test]
    fn a_gain_per_band_and_an_exposure_shift_the_inputs_only_by_constants() {
        let side = 16;
        let px: Vec<f32> = (0..side * side * 3)
            .map(|i| 0.2 + (i * 37 % 11) as f32 / 20.0)
            .collect();
        let mask = vec![1u8; side * side];
        let a = inputs(&px, &mask, side, false);
        let brighter: Vec<f32> = px.iter().map(|v| v * 1.5).collect();
        let b = inputs(&brighter, &mask, side, false);
        // Brightness against the mean: unchanged up to the offset E in the logs.
        for i in 0..side * side {
            assert!((a[3 * i + 2] - b[3 * i + 2]).abs() < 0.05);
        }
    }

    /// CPU time of the network per megapixel of classification tiles (`VIGIL_SPEED_MODEL=m.json
    /// cargo test --release --lib cnn_speed_per_mpx -- --ignored --nocapture`; without a model,
    /// a freshly initialised network of the same shape).
    #[test]
    #[ignore]
    fn cnn_speed_per_mpx() {
        fn cpu_seconds() -> f64 {
            // SAFETY: getrusage fills the struct it is given.
            let mut u: libc::rusage = unsafe { std::mem::zeroed() };
            unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
            let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 * 1e-6;
            t(u.ru_utime) + t(u.ru_stime)
        }
        let net = match std::env::var("VIGIL_SPEED_MODEL") {
            Ok(p) => crate::classify::model::Model::load(std::path::Path::new(&p))
                .unwrap()
                .cnn()
                .expect("a cnn model")
                .clone(),
            Err(_) => Cnn::new(1, false),
        };
        let mut px = vec![0f32; SIDE * SIDE * 3];
        for y in 0..SIDE {
            for x in 0..SIDE {
                let h = ((x * 7919 + y * 104_729) % 97) as f32 / 400.0;
                let plant = (x / 6 + y / 9) % 3 != 0;
                let c = if plant {
                    [0.25 + h, 0.45 + h, 0.2 + h]
                } else {
                    [0.55 + h, 0.43, 0.35]
                };
                px[3 * (y * SIDE + x)..][..3].copy_from_slice(&c);
            }
        }
        let mask = vec![255u8; SIDE * SIDE];
        let mut out = vec![[0f32; N_CLASSES]; CELLS * CELLS];
        let reps = 100;
        let mpx = reps as f64 * (SIDE * SIDE) as f64 / 1e6;
        let t0 = cpu_seconds();
        for _ in 0..reps {
            net.predict_tile(&px, &mask, &mut out);
        }
        let s = cpu_seconds() - t0;
        println!(
            "cnn ({:.0} multiply-adds per pixel): {:.1} ms CPU per Mpx ({:.1} Mpx/s per core)",
            net.macs_per_pixel(),
            s * 1e3 / mpx,
            mpx / s
        );
    }

    /// The hand-written backward pass against finite differences of the loss.
    #[test]
    fn gradients_match_finite_differences() {
        let side = 32;
        let mut rng = StdRng::seed_from_u64(5);
        let mut net = Cnn::new(9, true);
        for l in &mut net.layers {
            for b in &mut l.b {
                *b = rng.random_range(0.0..0.2);
            }
        }
        let px: Vec<f32> = (0..side * side * 3)
            .map(|_| rng.random_range(0.05..0.9))
            .collect();
        let mask = vec![1u8; side * side];
        let x = inputs(&px, &mask, side, true);
        let labels: Vec<u8> = (0..16).map(|i| [0u8, 1, 2, 3, IGNORE][i % 5]).collect();
        let cw = [1.0, 2.0, 0.5, 1.0];
        let loss = |n: &Cnn| -> f64 {
            let mut g: Vec<(Vec<f32>, Vec<f32>)> = n
                .layers
                .iter()
                .map(|l| (vec![0f32; l.w.len()], vec![0f32; l.b.len()]))
                .collect();
            crop_gradients(n, &x, &labels, side, &cw, &mut g).0
        };
        let mut g: Vec<(Vec<f32>, Vec<f32>)> = net
            .layers
            .iter()
            .map(|l| (vec![0f32; l.w.len()], vec![0f32; l.b.len()]))
            .collect();
        crop_gradients(&net, &x, &labels, side, &cw, &mut g);
        for (li, gl) in g.iter().enumerate() {
            for j in [0usize, 7, 31] {
                let j = j % gl.0.len();
                let h = 1e-3f32;
                let mut a = net.clone();
                a.layers[li].w[j] += h;
                let mut b = net.clone();
                b.layers[li].w[j] -= h;
                let num = (loss(&a) - loss(&b)) / (2.0 * f64::from(h));
                let ana = f64::from(gl.0[j]);
                assert!(
                    (num - ana).abs() <= 0.05 * num.abs().max(ana.abs()) + 2e-2,
                    "layer {li} w[{j}]: numeric {num}, analytic {ana}"
                );
            }
        }
    }
}
