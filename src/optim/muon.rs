//! Muon (Jordan et al., 2024) with PyTorch 2.15's `torch.optim.Muon` semantics
//! (single-tensor path), its Newton–Schulz iteration in emulated bfloat16.
//!
//! ```text
//! input: lr, weight decay lambda, momentum mu, nesterov, (a, b, c), eps,
//!        ns_steps k, adjust_lr_fn; a matrix theta (A x B)
//! state: B = 0 (momentum_buffer)
//! for t = 1, 2, ...
//!     B <- lerp(B, g, 1 - mu)               = mu B + (1 - mu) g
//!     M <- lerp(g, B, mu) if nesterov, else B
//!     X <- bf16(M), transposed if A > B     (so that X is wide)
//!     X <- X / max(||X||_F, eps)
//!     repeat k times:
//!         G <- X X^T
//!         X <- a X + (b G + c G G) X        every product rounded to bf16
//!     O <- X, transposed back
//!     theta <- theta (1 - lr lambda)
//!     theta <- theta - adjust(lr, A, B) O
//! adjust: original sqrt(max(1, A/B)) lr; match_rms_adamw 0.2 sqrt(max(A, B)) lr;
//!         spectral_unclamped sqrt(A/B) lr
//! ```
//!
//! The iteration maps each singular value `s` of `X` to
//! `p(s) = a s + b s^3 + c s^5` and keeps the singular vectors: after
//! normalization every `s` lies in `[0, 1]`, and `k` steps of `p` push them
//! towards a band around 1 (not to 1 itself), so `O` approximates the polar
//! factor `U V^T` of `M = U S V^T`.
//!
//! PyTorch computes the iteration in bfloat16 on the CPU: each matrix product
//! accumulates in `f32`, in order, and is rounded once to bfloat16; `addmm`
//! forms `beta C + alpha (A B)` in `f32` as one fused multiply-add
//! `fma(beta, C, alpha * AB)` and rounds that to bfloat16; a `float64` input
//! reaches bfloat16 through `f32` (two roundings). This file does the same, with [`bf16`] rounding an `f32` to 8
//! significand bits, nearest, ties to even. The result then matches PyTorch bit
//! for bit (claim `muon-matches-pytorch-bfloat16`).
//!
//! Like Adafactor, Muon acts on the whole matrix, so it implements
//! [`Optimizer`] itself. A step is computed into scratch space, checked, and only
//! then written; after the first step nothing is allocated.

use nalgebra::DVector;

use super::moments::lerp;
use super::{Optimizer, hyper};
use crate::error::{HyperError, StepError};

/// How the learning rate is scaled by the matrix's shape `A x B` (PyTorch's
/// `adjust_lr_fn`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum AdjustLr {
    /// `sqrt(max(1, A/B))` (Keller Jordan's original; PyTorch's default, `None`).
    #[default]
    Original,
    /// `0.2 sqrt(max(A, B))` (Moonshot's, to match AdamW's update RMS).
    MatchRmsAdamw,
    /// `sqrt(A/B)` (Bernstein's spectral scaling, not clamped).
    SpectralUnclamped,
}

impl AdjustLr {
    /// PyTorch's spelling, or `None` for an unknown name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "original" => Some(AdjustLr::Original),
            "match_rms_adamw" => Some(AdjustLr::MatchRmsAdamw),
            "spectral_unclamped" => Some(AdjustLr::SpectralUnclamped),
            _ => None,
        }
    }

    /// The learning rate for an `a x b` matrix, as PyTorch's `_adjust_lr`.
    pub fn apply(self, lr: f64, a: usize, b: usize) -> f64 {
        let (a, b) = (a as f64, b as f64);
        let ratio = match self {
            AdjustLr::Original => (a / b).max(1.0).sqrt(),
            AdjustLr::MatchRmsAdamw => 0.2 * a.max(b).sqrt(),
            AdjustLr::SpectralUnclamped => (a / b).sqrt(),
        };
        lr * ratio
    }
}

/// Hyperparameters of Muon, with PyTorch's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct MuonConfig {
    /// Learning rate, `lr >= 0` (default `1e-3`).
    pub lr: f64,
    /// Decoupled weight decay `lambda >= 0` (default `0.1`), scaled by `lr`
    /// (PyTorch's docstring calls it an L2 penalty; it is not).
    pub weight_decay: f64,
    /// Momentum `mu >= 0` (default `0.95`).
    pub momentum: f64,
    /// Nesterov momentum (default true).
    pub nesterov: bool,
    /// The quintic's coefficients `(a, b, c)`, finite (default
    /// `(3.4445, -4.7750, 2.0315)`).
    pub ns_coefficients: (f64, f64, f64),
    /// Floor of the Frobenius norm, `eps >= 0` (default `1e-7`).
    pub eps: f64,
    /// Newton–Schulz steps `k`, below 100 (default 5).
    pub ns_steps: u32,
    /// Shape scaling of the learning rate (default [`AdjustLr::Original`]).
    pub adjust_lr_fn: AdjustLr,
}

impl Default for MuonConfig {
    fn default() -> Self {
        MuonConfig {
            lr: 1e-3,
            weight_decay: 0.1,
            momentum: 0.95,
            nesterov: true,
            ns_coefficients: (3.4445, -4.7750, 2.0315),
            eps: 1e-7,
            ns_steps: 5,
            adjust_lr_fn: AdjustLr::Original,
        }
    }
}

impl MuonConfig {
    /// The optimizer's name, as `descent replay` spells it.
    pub const NAME: &'static str = "muon";

    /// Checks every hyperparameter: PyTorch's ranges, and finiteness (stricter:
    /// PyTorch accepts a non-finite coefficient or `eps`, which makes every
    /// step NaN).
    pub fn validate(&self) -> Result<(), HyperError> {
        hyper::non_negative(Self::NAME, "lr", self.lr)?;
        hyper::non_negative(Self::NAME, "weight_decay", self.weight_decay)?;
        hyper::non_negative(Self::NAME, "momentum", self.momentum)?;
        let (a, b, c) = self.ns_coefficients;
        for (name, x) in [
            ("ns_coefficients[0]", a),
            ("ns_coefficients[1]", b),
            ("ns_coefficients[2]", c),
        ] {
            hyper::check(Self::NAME, name, x, "(-inf, inf) (finite)", |_| true)?;
        }
        hyper::non_negative(Self::NAME, "eps", self.eps)?;
        if self.ns_steps >= 100 {
            return Err(HyperError {
                optimizer: Self::NAME,
                param: "ns_steps",
                value: self.ns_steps.to_string(),
                range: "[0, 100) (an integer)",
            });
        }
        Ok(())
    }
}

// ANCHOR: bf16
/// Rounds an `f32` to bfloat16 (8 significand bits), nearest with ties to even,
/// as PyTorch's `c10::BFloat16` does; returned as the `f32` it equals.
pub fn bf16(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    let bits = x.to_bits();
    let rounded = bits.wrapping_add(0x7FFF + ((bits >> 16) & 1)) & 0xFFFF_0000;
    f32::from_bits(rounded)
}
// ANCHOR_END: bf16

/// `out = bf16(x y)` for `x` (`n x k`) and `y` (`k x m`), row-major, each entry
/// accumulated in `f32` in order.
fn matmul(out: &mut [f32], x: &[f32], y: &[f32], n: usize, k: usize, m: usize) {
    for i in 0..n {
        for j in 0..m {
            let mut acc = 0.0_f32;
            for l in 0..k {
                acc += x[i * k + l] * y[l * m + j];
            }
            out[i * m + j] = acc;
        }
    }
}

/// The scratch space of one Newton–Schulz evaluation for an `m x n` wide matrix.
#[derive(Clone, Debug, Default)]
struct Scratch {
    x: Vec<f32>,
    xt: Vec<f32>,
    gram: Vec<f32>,
    gram2: Vec<f32>,
    prod: Vec<f32>,
    update: Vec<f64>,
}

// claims: muon-quintic-does-not-converge-to-one, muon-update-ignores-gradient-scale,
//     muon-matches-pytorch-bfloat16, exercise-muon-2, exercise-muon-3
// ANCHOR: newton_schulz
/// PyTorch's `_zeropower_via_newtonschulz` on the `rows x cols` matrix `m`
/// (row-major), in emulated bfloat16; the result, row-major, in `out`.
fn newton_schulz(cfg: &MuonConfig, m: &[f64], rows: usize, cols: usize, s: &mut Scratch) {
    let wide = rows <= cols;
    let (p, q) = if wide { (rows, cols) } else { (cols, rows) };
    let (a, b, c) = cfg.ns_coefficients;
    let (a, b, c) = (a as f32, b as f32, c as f32);
    // X <- bf16(M), wide (p x q); f64 reaches bfloat16 through f32.
    s.x.clear();
    for i in 0..p {
        for j in 0..q {
            let v = if wide {
                m[i * cols + j]
            } else {
                m[j * cols + i]
            };
            s.x.push(bf16(v as f32));
        }
    }
    // X <- X / max(||X||_F, eps): the norm in f32, rounded to bf16.
    let norm = bf16(s.x.iter().fold(0.0_f32, |acc, v| acc + v * v).sqrt());
    let norm = norm.max(bf16(cfg.eps as f32));
    for v in s.x.iter_mut() {
        *v = bf16(*v / norm);
    }
    for _ in 0..cfg.ns_steps {
        // G <- X X^T (p x p).
        s.xt.clear();
        s.xt.extend((0..q * p).map(|k| s.x[(k % p) * q + k / p]));
        matmul(&mut s.gram, &s.x, &s.xt, p, q, p);
        s.gram.iter_mut().for_each(|v| *v = bf16(*v));
        // H <- b G + c G G (addmm with beta = b, alpha = c: one fma in f32).
        matmul(&mut s.gram2, &s.gram, &s.gram, p, p, p);
        for (h, g) in s.gram2.iter_mut().zip(&s.gram) {
            *h = bf16(b.mul_add(*g, c * *h));
        }
        // X <- a X + H X (addmm with beta = a, alpha = 1).
        matmul(&mut s.prod, &s.gram2, &s.x, p, p, q);
        for (x, hx) in s.x.iter_mut().zip(&s.prod) {
            *x = bf16(a.mul_add(*x, *hx));
        }
    }
    s.update.clear();
    for i in 0..rows {
        for j in 0..cols {
            let v = if wide { s.x[i * q + j] } else { s.x[j * q + i] };
            s.update.push(f64::from(v));
        }
    }
}
// ANCHOR_END: newton_schulz

/// The state of Muon, with PyTorch's buffer name.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct MuonState {
    /// Steps taken.
    pub step: u64,
    /// The momentum buffer `B`, row-major.
    #[cfg_attr(feature = "serde", serde(with = "super::checkpoint::vector"))]
    pub momentum_buffer: DVector<f64>,
}

/// Muon for one `rows x cols` matrix parameter.
#[derive(Clone, Debug)]
pub struct Muon {
    pub(super) config: MuonConfig,
    pub(super) shape: [usize; 2],
    pub(super) state: Option<MuonState>,
    /// The new momentum buffer and the matrix `M` handed to Newton–Schulz.
    buf: Vec<f64>,
    mixed: Vec<f64>,
    scratch: Scratch,
}

impl PartialEq for Muon {
    /// Equal hyperparameters, shape and state (the scratch space is not compared).
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config && self.shape == other.shape && self.state == other.state
    }
}

impl Muon {
    /// Muon for a `rows x cols` matrix (row-major). Refuses hyperparameters out
    /// of range.
    pub fn new(config: MuonConfig, shape: [usize; 2]) -> Result<Self, HyperError> {
        config.validate()?;
        let (p, q) = (shape[0].min(shape[1]), shape[0].max(shape[1]));
        let n = shape[0] * shape[1];
        let scratch = Scratch {
            x: Vec::with_capacity(n),
            xt: Vec::with_capacity(n),
            gram: vec![0.0; p * p],
            gram2: vec![0.0; p * p],
            prod: vec![0.0; p * q],
            update: Vec::with_capacity(n),
        };
        Ok(Muon {
            config,
            shape,
            state: None,
            buf: Vec::with_capacity(n),
            mixed: Vec::with_capacity(n),
            scratch,
        })
    }

    /// The hyperparameters.
    pub fn config(&self) -> &MuonConfig {
        &self.config
    }

    /// The state, or `None` before the first step.
    pub fn state(&self) -> Option<&MuonState> {
        self.state.as_ref()
    }

    /// The orthogonalized update `O` of the last step, row-major (empty before
    /// the first step).
    pub fn last_update(&self) -> &[f64] {
        &self.scratch.update
    }
}

/// PyTorch's `_zeropower_via_newtonschulz` alone, in emulated bfloat16, on the
/// `rows x cols` matrix `m` (row-major): the approximate polar factor.
pub fn orthogonalize(config: &MuonConfig, m: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    let mut s = Scratch {
        gram: vec![0.0; rows.min(cols).pow(2)],
        gram2: vec![0.0; rows.min(cols).pow(2)],
        prod: vec![0.0; rows * cols],
        ..Scratch::default()
    };
    newton_schulz(config, m, rows, cols, &mut s);
    s.update
}

// ANCHOR: quintic
/// The scalar map of `steps` Newton–Schulz iterations, `s -> p(p(...p(s)))` with
/// `p(s) = a s + b s^3 + c s^5`, in `f64`: what the iteration does to each
/// singular value.
pub fn quintic(coefficients: (f64, f64, f64), steps: u32, s: f64) -> f64 {
    let (a, b, c) = coefficients;
    (0..steps).fold(s, |s, _| {
        let s2 = s * s;
        s * (a + s2 * (b + c * s2))
    })
}
// ANCHOR_END: quintic

/// The smallest and largest value of [`quintic`] over `samples + 1` equally
/// spaced points of `[lo, hi]`: the band the singular values end in.
pub fn quintic_band(
    coefficients: (f64, f64, f64),
    steps: u32,
    lo: f64,
    hi: f64,
    samples: u32,
) -> (f64, f64) {
    (0..=samples)
        .map(|i| {
            quintic(
                coefficients,
                steps,
                lo + (hi - lo) * f64::from(i) / f64::from(samples.max(1)),
            )
        })
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(mn, mx), v| {
            (mn.min(v), mx.max(v))
        })
}

impl Optimizer for Muon {
    fn lr(&self) -> f64 {
        self.config.lr
    }

    fn set_lr(&mut self, lr: f64) -> Result<(), HyperError> {
        hyper::non_negative(MuonConfig::NAME, "lr", lr)?;
        self.config.lr = lr;
        Ok(())
    }

    fn step(&mut self, params: &mut DVector<f64>, grad: &DVector<f64>) -> Result<(), StepError> {
        self.step_slice(params.as_mut_slice(), grad.as_slice())
    }

    fn step_slice(&mut self, theta: &mut [f64], grad: &[f64]) -> Result<(), StepError> {
        let [rows, cols] = self.shape;
        let n = rows * cols;
        for (what, len) in [("params", theta.len()), ("grad", grad.len())] {
            if len != n {
                return Err(StepError::LengthMismatch {
                    what,
                    expected: n,
                    found: len,
                });
            }
        }
        if let Some((index, &value)) = grad.iter().enumerate().find(|(_, g)| !g.is_finite()) {
            return Err(StepError::NonFiniteGradient { index, value });
        }
        // claims: muon-update-ignores-gradient-scale, muon-matches-pytorch-bfloat16,
        //     muon-docs-buffer-is-lerp
        // ANCHOR: update
        let cfg = self.config;
        let (buf, mixed) = (&mut self.buf, &mut self.mixed);
        // B <- lerp(B, g, 1 - mu); M <- lerp(g, B, mu) or B.
        let w = 1.0 - cfg.momentum;
        buf.clear();
        match &self.state {
            Some(st) => buf.extend(
                st.momentum_buffer
                    .iter()
                    .zip(grad)
                    .map(|(b, g)| lerp(*b, *g, w)),
            ),
            None => buf.extend(grad.iter().map(|g| lerp(0.0, *g, w))),
        }
        mixed.clear();
        if cfg.nesterov {
            mixed.extend(
                grad.iter()
                    .zip(buf.iter())
                    .map(|(g, b)| lerp(*g, *b, cfg.momentum)),
            );
        } else {
            mixed.extend_from_slice(buf);
        }
        let s = &mut self.scratch;
        newton_schulz(&cfg, mixed, rows, cols, s);
        let shrink = 1.0 - cfg.lr * cfg.weight_decay;
        let neg_lr = -cfg.adjust_lr_fn.apply(cfg.lr, rows, cols);
        let step = |th: f64, o: f64| neg_lr.mul_add(o, th * shrink);
        // ANCHOR_END: update
        if let Some(index) = buf.iter().position(|b| !b.is_finite()) {
            return Err(StepError::NonFiniteResult {
                index,
                quantity: "momentum_buffer",
            });
        }
        if let Some(index) = (0..n).find(|&i| !step(theta[i], s.update[i]).is_finite()) {
            return Err(StepError::NonFiniteResult {
                index,
                quantity: "param",
            });
        }
        for (th, o) in theta.iter_mut().zip(&s.update) {
            *th = step(*th, *o);
        }
        let st = self.state.get_or_insert_with(|| MuonState {
            step: 0,
            momentum_buffer: DVector::zeros(n),
        });
        st.momentum_buffer.as_mut_slice().copy_from_slice(buf);
        st.step += 1;
        Ok(())
    }

    fn steps_taken(&self) -> u64 {
        self.state.as_ref().map_or(0, |s| s.step)
    }

    fn name(&self) -> &'static str {
        MuonConfig::NAME
    }
}
