//! K-FAC: the Kronecker-factored approximate Fisher of a multilayer perceptron
//! (Martens and Grosse, 2015), next to the exact Fisher of the same network.
//!
//! The network [`Mlp`] has layers `l = 0 .. L-1`. Layer `l` reads the input
//! activations `a_l` (the previous layer's `tanh` outputs, or the example's
//! features for `l = 0`) with a constant 1 appended for the bias, and computes the
//! pre-activations `s_l = W_l a_l`; the last pre-activations are the outputs `f`
//! read by the output [`Family`]. `W_l` is `out_l x (in_l + 1)`, its last column
//! the bias, and `theta` stacks `vec(W_0), vec(W_1), ...`, each column-major.
//!
//! Column-major `vec` makes the per-example score of layer `l` a Kronecker
//! product, `vec(g a') = a (x) g`, with `g = grad_{s_l} ln p(y | f)`. The exact
//! Fisher block of layer `l` is therefore
//!
//! ```text
//! F_ll = (1/N) sum_n  a_n a_n'  (x)  G_n,   G_n = E_{y ~ p(. | f_n)} [ g g' ] = B_n' F_out(f_n) B_n,
//! ```
//!
//! with `B_n = d f / d s_l` at example `n`. K-FAC replaces this mean of
//! Kronecker products by the Kronecker product of the means, `A_l (x) G_l` with
//! `A_l = (1/N) sum_n a_n a_n'` and `G_l = (1/N) sum_n G_n`, and drops every block
//! between two layers. The expectation over `y` is taken in closed form (through
//! the family's output Fisher), not by sampling, so both matrices here are exact
//! numbers that can be compared.

use nalgebra::{Cholesky, DMatrix, DVector};
use num_dual::DualNum;

use crate::error::StepError;
use crate::optim::hyper;
use crate::problems::Objective;
use crate::second_order::natural::{
    Family, Model, NaturalError, Outcome, mean_nll, output_jacobian,
};

/// The name used in K-FAC's hyperparameter errors.
pub const NAME: &str = "kfac";

fn check_len(what: &'static str, expected: usize, found: usize) -> Result<(), NaturalError> {
    if expected == found {
        Ok(())
    } else {
        Err(StepError::LengthMismatch {
            what,
            expected,
            found,
        }
        .into())
    }
}

/// A multilayer perceptron with `tanh` hidden layers and a linear last layer
/// whose outputs are read by an output family.
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    widths: Vec<usize>,
    x: DMatrix<f64>,
    y: Vec<Outcome>,
    family: Family,
}

impl Mlp {
    /// A network with layer widths `widths = [in, hidden..., out]` over the
    /// examples in the rows of `x` (`N x in`) with observed outcomes `y`.
    ///
    /// Errors: fewer than two widths or a zero width
    /// ([`NaturalError::OutsideDomain`]), no examples, a feature count other
    /// than `widths[0]`, an outcome count other than `N`, or a last width other
    /// than `family.outputs()` ([`NaturalError::Step`]), a non-finite feature.
    pub fn new(
        widths: Vec<usize>,
        x: DMatrix<f64>,
        y: Vec<Outcome>,
        family: Family,
    ) -> Result<Self, NaturalError> {
        if widths.len() < 2 {
            return Err(NaturalError::OutsideDomain {
                param: "widths.len()",
                value: widths.len() as f64,
                range: "at least 2 (input and output widths)",
            });
        }
        if let Some(&w) = widths.iter().find(|&&w| w == 0) {
            return Err(NaturalError::OutsideDomain {
                param: "widths[i]",
                value: w as f64,
                range: "at least 1",
            });
        }
        if x.nrows() == 0 {
            return Err(NaturalError::OutsideDomain {
                param: "x.nrows() (examples)",
                value: 0.0,
                range: "at least 1",
            });
        }
        check_len("x columns", widths[0], x.ncols())?;
        check_len("y", x.nrows(), y.len())?;
        check_len("family outputs", widths[widths.len() - 1], family.outputs())?;
        if let Some(&v) = x.iter().find(|v| !v.is_finite()) {
            return Err(NaturalError::OutsideDomain {
                param: "x[(n, i)]",
                value: v,
                range: "finite numbers",
            });
        }
        Ok(Mlp {
            widths,
            x,
            y,
            family,
        })
    }

    /// The number of layers `L` (weight matrices).
    pub fn layers(&self) -> usize {
        self.widths.len() - 1
    }

    /// The shape `(out_l, in_l + 1)` of `W_l`; `(0, 0)` for `l` out of range.
    pub fn layer_shape(&self, l: usize) -> (usize, usize) {
        if l >= self.layers() {
            return (0, 0);
        }
        (self.widths[l + 1], self.widths[l] + 1)
    }

    /// Where `vec(W_l)` starts in `theta`.
    pub fn layer_offset(&self, l: usize) -> usize {
        (0..l.min(self.layers()))
            .map(|i| {
                let (r, c) = self.layer_shape(i);
                r * c
            })
            .sum()
    }

    /// The features, one example per row (`N x in`).
    pub fn features(&self) -> &DMatrix<f64> {
        &self.x
    }

    /// The forward pass of example `n` in `f64`, keeping what K-FAC needs: the
    /// input activations `a_l` with the bias 1 appended, and the pre-activations
    /// `s_l`, for each layer. `theta` must have length `dim()`.
    fn trace(&self, theta: &DVector<f64>, n: usize) -> (Vec<DVector<f64>>, Vec<DVector<f64>>) {
        let mut acts = Vec::with_capacity(self.layers());
        let mut pres = Vec::with_capacity(self.layers());
        let mut h: DVector<f64> = self.x.row(n).transpose();
        for l in 0..self.layers() {
            let (r, c) = self.layer_shape(l);
            let off = self.layer_offset(l);
            let w = DMatrix::from_column_slice(r, c, &theta.as_slice()[off..off + r * c]);
            let a = h.push(1.0);
            let s = &w * &a;
            h = s.map(f64::tanh);
            acts.push(a);
            pres.push(s);
        }
        (acts, pres)
    }
}

impl Objective for Mlp {
    fn dim(&self) -> usize {
        self.layer_offset(self.layers())
    }
    fn eval<D: DualNum<Primitive = f64>>(&self, x: &DVector<D>) -> D {
        mean_nll(self, x)
    }
}

impl Model for Mlp {
    fn examples(&self) -> usize {
        self.x.nrows()
    }
    fn family(&self) -> Family {
        self.family
    }
    fn observed(&self, n: usize) -> Outcome {
        self.y.get(n).copied().unwrap_or(Outcome::Class(usize::MAX))
    }
    /// The last pre-activations `s_{L-1}`, written once for every number type.
    fn outputs<D: DualNum<Primitive = f64>>(&self, theta: &DVector<D>, n: usize) -> DVector<D> {
        let k = self.family.outputs();
        if theta.len() != self.dim() || n >= self.examples() {
            return DVector::from_element(k, D::from(f64::NAN));
        }
        let mut h: DVector<D> = self.x.row(n).transpose().map(D::from);
        for l in 0..self.layers() {
            let (r, c) = self.layer_shape(l);
            let off = self.layer_offset(l);
            let mut s = DVector::from_element(r, D::from(0.0));
            for i in 0..r {
                // Column j of W_l sits at off + j r; the last column is the bias.
                let mut acc = theta[off + (c - 1) * r + i].clone();
                for j in 0..c - 1 {
                    acc += theta[off + j * r + i].clone() * h[j].clone();
                }
                s[i] = acc;
            }
            h = if l + 1 == self.layers() {
                s
            } else {
                s.map(|v| v.tanh())
            };
        }
        h
    }
    // claims: kfac-exact-cases, kfac-error-is-factor-covariance, kfac-demo-gap, exercise-kfac-3,
    //     exercise-kfac-4
    // ANCHOR: exact_fisher
    /// The exact Fisher `(1/N) sum_n J_n' F_out(f_n) J_n = J' (B J)`, with the
    /// output Jacobians `J_n` from dual numbers and `B = blockdiag(F_out(f_n)) / N`.
    fn fisher(&self, theta: &DVector<f64>) -> Result<DMatrix<f64>, NaturalError> {
        let j = output_jacobian(self, theta)?;
        let k = self.family.outputs();
        let mut bj = DMatrix::zeros(j.nrows(), j.ncols());
        for n in 0..self.examples() {
            let f_out = self.family.output_fisher(&self.outputs(theta, n));
            let block = (f_out / self.examples() as f64) * j.rows(n * k, k);
            bj.rows_mut(n * k, k).copy_from(&block);
        }
        let mut f = j.tr_mul(&bj);
        f.fill_upper_triangle_with_lower_triangle();
        Ok(f)
    }
    // ANCHOR_END: exact_fisher
}

/// One example's Kronecker statistics for one layer: its input activations `a`
/// (bias 1 appended) and `G_n = E_y[g g'] = B' F_out(f) B`, the expected outer
/// product of the pre-activation gradient `g = grad_s ln p(y | f)` under the
/// model's own predictive distribution.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerExample {
    /// The input activations `a`, length `in_l + 1`.
    pub a: DVector<f64>,
    /// `G_n`, `out_l x out_l`.
    pub g: DMatrix<f64>,
}

// claims: kfac-error-is-factor-covariance, kfac-exact-cases, kfac-demo-gap,
//     kfac-matches-kfac-jax
// ANCHOR: per_example
/// The per-example statistics `(a_n, G_n)` of every layer: entry `[n][l]`.
///
/// One forward pass in `f64` records `a_l` and `s_l`; one backward pass carries
/// `B_l = d f / d s_l` from `B_{L-1} = I` by
/// `B_l = B_{l+1} W_{l+1}[:, ..in] diag(1 - tanh(s_l)^2)`, and
/// `G_n = B_l' F_out(f) B_l`. Errors: `theta` of the wrong length.
pub fn per_example_statistics(
    mlp: &Mlp,
    theta: &DVector<f64>,
) -> Result<Vec<Vec<LayerExample>>, NaturalError> {
    check_len("params", mlp.dim(), theta.len())?;
    let k = mlp.family.outputs();
    let mut out = Vec::with_capacity(mlp.examples());
    for n in 0..mlp.examples() {
        let (acts, pres) = mlp.trace(theta, n);
        let f_out = mlp.family.output_fisher(&pres[mlp.layers() - 1]);
        let mut stats = vec![None; mlp.layers()];
        let mut b = DMatrix::<f64>::identity(k, k);
        for l in (0..mlp.layers()).rev() {
            if l + 1 < mlp.layers() {
                let (r, c) = mlp.layer_shape(l + 1);
                let off = mlp.layer_offset(l + 1);
                let w = DMatrix::from_column_slice(r, c, &theta.as_slice()[off..off + r * c]);
                let mut next = b * w.columns(0, c - 1);
                for (j, mut col) in next.column_iter_mut().enumerate() {
                    let t = pres[l][j].tanh();
                    col *= 1.0 - t * t;
                }
                b = next;
            }
            let g = b.tr_mul(&(&f_out * &b));
            stats[l] = Some(LayerExample {
                a: acts[l].clone(),
                g: (&g + g.transpose()) * 0.5,
            });
        }
        out.push(stats.into_iter().flatten().collect());
    }
    Ok(out)
}
// ANCHOR_END: per_example

/// The Kronecker factors of every layer: `A_l = (1/N) sum_n a_n a_n'` and
/// `G_l = (1/N) sum_n G_n`.
#[derive(Clone, Debug, PartialEq)]
pub struct KroneckerFactors {
    /// `A_l`, `(in_l + 1) x (in_l + 1)`, one per layer.
    pub a: Vec<DMatrix<f64>>,
    /// `G_l`, `out_l x out_l`, one per layer.
    pub g: Vec<DMatrix<f64>>,
}

// claims: kfac-exact-cases, kfac-error-is-factor-covariance, kfac-demo-gap,
//     kfac-matches-kfac-jax, kfac-kronecker-inverse, exercise-kfac-1, exercise-kfac-2,
//     exercise-kfac-3
// ANCHOR: factors
/// The K-FAC factors of `mlp` at `theta`: the means over examples of `a a'` and
/// of `G_n`, taken separately. Errors: `theta` of the wrong length.
pub fn kfac_factors(mlp: &Mlp, theta: &DVector<f64>) -> Result<KroneckerFactors, NaturalError> {
    let stats = per_example_statistics(mlp, theta)?;
    let inv_n = 1.0 / mlp.examples() as f64;
    let mut a = Vec::with_capacity(mlp.layers());
    let mut g = Vec::with_capacity(mlp.layers());
    for l in 0..mlp.layers() {
        let (r, c) = mlp.layer_shape(l);
        let mut al = DMatrix::zeros(c, c);
        let mut gl = DMatrix::zeros(r, r);
        for ex in &stats {
            al += &ex[l].a * ex[l].a.transpose();
            gl += &ex[l].g;
        }
        a.push(al * inv_n);
        g.push(gl * inv_n);
    }
    Ok(KroneckerFactors { a, g })
}
// ANCHOR_END: factors

/// Checks that the factors pair up (as many `A` as `G`), are square and finite;
/// returns the dimension `sum_l dim(A_l) dim(G_l)`.
fn check_factors(factors: &KroneckerFactors) -> Result<usize, NaturalError> {
    check_len(
        "kfac factors G (one per A)",
        factors.a.len(),
        factors.g.len(),
    )?;
    let mut dim = 0;
    for (a, g) in factors.a.iter().zip(&factors.g) {
        check_len("kfac factor A columns", a.nrows(), a.ncols())?;
        check_len("kfac factor G columns", g.nrows(), g.ncols())?;
        for (what, m) in [("kfac factor A", a), ("kfac factor G", g)] {
            if let Some(i) = m.iter().position(|v| !v.is_finite()) {
                return Err(NaturalError::NonFiniteMatrix {
                    what,
                    row: i % m.nrows(),
                    col: i / m.nrows(),
                });
            }
        }
        dim += a.nrows() * g.nrows();
    }
    Ok(dim)
}

/// The block-diagonal K-FAC matrix `blockdiag(A_0 (x) G_0, A_1 (x) G_1, ...)`,
/// `dim x dim`, in the parameter order of [`Mlp`]. Errors: unpaired, non-square
/// or non-finite factors.
pub fn kfac_matrix(factors: &KroneckerFactors) -> Result<DMatrix<f64>, NaturalError> {
    let dim = check_factors(factors)?;
    let mut m = DMatrix::zeros(dim, dim);
    let mut off = 0;
    for (a, g) in factors.a.iter().zip(&factors.g) {
        let block = a.kronecker(g);
        let size = block.nrows();
        m.view_mut((off, off), (size, size)).copy_from(&block);
        off += size;
    }
    Ok(m)
}

/// How the damping `delta` is split between the two factors.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FactorDamping {
    /// `A + sqrt(delta) I` and `G + sqrt(delta) I`.
    Plain,
    /// Martens and Grosse's pi-correction: `A + pi sqrt(delta) I` and
    /// `G + (sqrt(delta) / pi) I` with `pi^2 = (tr A / dim A) / (tr G / dim G)`,
    /// which balances the two added terms against the factors' average scales.
    Pi,
}

// claims: kfac-kronecker-inverse, kfac-demo-gap, exercise-kfac-3
// ANCHOR: direction
/// The K-FAC direction: for each layer, with `V` the gradient slice of `W_l`
/// reshaped to `out_l x (in_l + 1)`,
/// `D = -(G + s_G I)^{-1} V (A + s_A I)^{-1}`, which is
/// `-((A + s_A I) (x) (G + s_G I))^{-1} vec(V)` by the Kronecker inverse
/// identity; two small Cholesky solves per layer, no `dim x dim` matrix.
///
/// Errors: a negative or non-finite `damping` ([`NaturalError::Hyper`]), a
/// gradient of the wrong length or not finite ([`NaturalError::Step`]), a
/// non-finite factor entry, a damped factor that is not positive definite
/// ([`NaturalError::NotPositiveDefinite`]).
pub fn kfac_direction(
    factors: &KroneckerFactors,
    grad: &DVector<f64>,
    damping: f64,
    split: FactorDamping,
) -> Result<DVector<f64>, NaturalError> {
    hyper::non_negative(NAME, "damping", damping)?;
    let dim = check_factors(factors)?;
    check_len("grad", dim, grad.len())?;
    if let Some((index, &value)) = grad.iter().enumerate().find(|(_, g)| !g.is_finite()) {
        return Err(StepError::NonFiniteGradient { index, value }.into());
    }
    let mut d = DVector::zeros(dim);
    let mut off = 0;
    for (a, g) in factors.a.iter().zip(&factors.g) {
        let (r, c) = (g.nrows(), a.nrows());
        let pi = match split {
            FactorDamping::Plain => 1.0,
            FactorDamping::Pi => {
                let ta = a.trace() / c as f64;
                let tg = g.trace() / r as f64;
                if ta > 0.0 && tg > 0.0 {
                    (ta / tg).sqrt()
                } else {
                    1.0
                }
            }
        };
        let root = damping.sqrt();
        let mut ad = (a + a.transpose()) * 0.5;
        let mut gd = (g + g.transpose()) * 0.5;
        for i in 0..c {
            ad[(i, i)] += pi * root;
        }
        for i in 0..r {
            gd[(i, i)] += root / pi;
        }
        let ca = Cholesky::new(ad).ok_or(NaturalError::NotPositiveDefinite { damping })?;
        let cg = Cholesky::new(gd).ok_or(NaturalError::NotPositiveDefinite { damping })?;
        let v = DMatrix::from_column_slice(r, c, &grad.as_slice()[off..off + r * c]);
        // X = G^{-1} V, then D = X A^{-1} = (A^{-1} X')' since A is symmetric.
        let x = cg.solve(&v);
        let dl = -ca.solve(&x.transpose()).transpose();
        d.rows_mut(off, r * c).copy_from_slice(dl.as_slice());
        off += r * c;
    }
    if let Some(index) = d.iter().position(|v| !v.is_finite()) {
        return Err(StepError::NonFiniteResult {
            index,
            quantity: "direction",
        }
        .into());
    }
    Ok(d)
}
// ANCHOR_END: direction

/// The damped matrix that [`kfac_direction`] inverts, assembled densely for
/// checking: `blockdiag((A_l + s_A I) (x) (G_l + s_G I))`. Errors: as for
/// [`kfac_matrix`], and a negative or non-finite `damping`.
pub fn damped_kfac_matrix(
    factors: &KroneckerFactors,
    damping: f64,
    split: FactorDamping,
) -> Result<DMatrix<f64>, NaturalError> {
    hyper::non_negative(NAME, "damping", damping)?;
    check_factors(factors)?;
    let root = damping.sqrt();
    let mut damped = factors.clone();
    for (a, g) in damped.a.iter_mut().zip(damped.g.iter_mut()) {
        let pi = match split {
            FactorDamping::Plain => 1.0,
            FactorDamping::Pi => {
                let ta = a.trace() / a.nrows() as f64;
                let tg = g.trace() / g.nrows() as f64;
                if ta > 0.0 && tg > 0.0 {
                    (ta / tg).sqrt()
                } else {
                    1.0
                }
            }
        };
        for i in 0..a.nrows() {
            a[(i, i)] += pi * root;
        }
        for i in 0..g.nrows() {
            g[(i, i)] += root / pi;
        }
    }
    kfac_matrix(&damped)
}

/// A fixed, reproducible demonstration network: widths `[3, 4, 3]` (16 + 15 = 31
/// parameters), `tanh` hidden layer, softmax output over 3 classes, `N = 24`
/// examples with features and parameters from a deterministic formula (no random
/// number generator), and labels drawn as the most likely class of a second,
/// unrelated network so that the fit is imperfect. Returns the network and `theta`.
pub fn demo() -> (Mlp, DVector<f64>) {
    let n = 24;
    // A low-discrepancy-looking but fully deterministic sequence in (-1, 1).
    let wave = |i: usize, salt: f64| ((i as f64 + 1.0) * 0.754_877_666 + salt).sin();
    let x = DMatrix::from_fn(n, 3, |r, c| 1.5 * wave(3 * r + c, 0.3));
    let widths = vec![3, 4, 3];
    let dims = 4 * 4 + 3 * 5;
    let theta = DVector::from_fn(dims, |i, _| 0.9 * wave(i, 1.7));
    let labels = DVector::from_fn(dims, |i, _| 1.2 * wave(i, 4.1));
    let family = Family::CategoricalLogits { classes: 3 };
    let placeholder = vec![Outcome::Class(0); n];
    let teacher = Mlp {
        widths: widths.clone(),
        x: x.clone(),
        y: placeholder,
        family,
    };
    let y = (0..n)
        .map(|i| Outcome::Class(teacher.outputs(&labels, i).argmax().0))
        .collect();
    (
        Mlp {
            widths,
            x,
            y,
            family,
        },
        theta,
    )
}

// claims: kfac-demo-gap
// ANCHOR: metric_angle
/// The angle in degrees between a direction `d` and the damped natural-gradient
/// direction `x = -(F + damping I)^{-1} grad`, measured in the inner product of
/// `M = F + damping I`: `acos(d'Mx / sqrt(d'Md x'Mx))`. Its squared cosine is the
/// share of the best decrease of the quadratic model `grad'v + v'Mv / 2` that a
/// step along `d` can reach (with its best length). Errors: those of
/// [`natural_direction`](crate::second_order::natural::natural_direction), and a
/// `d` of the wrong length.
pub fn metric_angle(
    fisher: &DMatrix<f64>,
    grad: &DVector<f64>,
    damping: f64,
    d: &DVector<f64>,
) -> Result<f64, NaturalError> {
    let x = crate::second_order::natural::natural_direction(fisher, grad, damping)?;
    check_len("direction", grad.len(), d.len())?;
    let mut m = (fisher + fisher.transpose()) * 0.5;
    for i in 0..m.nrows() {
        m[(i, i)] += damping;
    }
    let mx = &m * &x;
    let cos = d.dot(&mx) / (d.dot(&(&m * d)) * x.dot(&mx)).sqrt();
    Ok(cos.clamp(-1.0, 1.0).acos().to_degrees())
}
// ANCHOR_END: metric_angle
