//! Symbolic vectors over the Gram basis, and the scalar expressions that are
//! linear in the Gram matrix and the function values.
//!
//! A method run for `N` steps touches `x_0` and `N + 1` gradients (one per query
//! point and one at the output). With `x* = 0`, `f* = 0` and `grad f(x*) = 0`, every
//! point it visits is a fixed linear combination of the basis
//!
//! ```text
//! e_0 = x_0 - x*,   e_1 = g_0,   ...,   e_{N+1} = g_N
//! ```
//!
//! so a vector is its coefficient vector over that basis, and an inner product
//! `<u, v>` is `u^T G v` with `G` the Gram matrix of the basis. Function values are
//! coordinates `F_0 .. F_N` of their own. Each condition of the program is then
//! `<Q, G> + c^T F` for a symmetric `Q` and a vector `c`: a [`Scalar`].

use std::ops::{AddAssign, Mul};

use nalgebra::{DMatrix, DVector};

/// A point the method visits: its position, its gradient and its function value,
/// each as coefficients (over the Gram basis, and over the function values).
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// `x - x*` over the Gram basis.
    pub x: DVector<f64>,
    /// `grad f(x)` over the Gram basis.
    pub g: DVector<f64>,
    /// `f(x) - f*` over the function values `F_0 .. F_N`.
    pub f: DVector<f64>,
}

/// `<Q, G> + c^T F`: an expression linear in the Gram matrix `G` and the function
/// values `F`. `Q` is kept symmetric.
#[derive(Clone, Debug, PartialEq)]
pub struct Scalar {
    /// The symmetric matrix `Q` (`dim x dim`).
    pub quad: DMatrix<f64>,
    /// The coefficients `c` of the function values.
    pub lin: DVector<f64>,
}

impl Scalar {
    /// The inner product `<u, v>` of two symbolic vectors: `Q = (u v^T + v u^T)/2`.
    pub fn inner(u: &DVector<f64>, v: &DVector<f64>) -> Scalar {
        let uv = u * v.transpose();
        Scalar {
            quad: (&uv + uv.transpose()) * 0.5,
            lin: DVector::zeros(0),
        }
    }

    /// A function-value expression `c^T F`.
    pub fn linear(c: &DVector<f64>) -> Scalar {
        Scalar {
            quad: DMatrix::zeros(0, 0),
            lin: c.clone(),
        }
    }

    /// The value of the expression at a Gram matrix and function values.
    pub fn eval(&self, gram: &DMatrix<f64>, f: &DVector<f64>) -> f64 {
        let q = if self.quad.nrows() == 0 {
            0.0
        } else {
            self.quad.component_mul(gram).sum()
        };
        let c = if self.lin.is_empty() {
            0.0
        } else {
            self.lin.dot(f)
        };
        q + c
    }
}

impl AddAssign for Scalar {
    fn add_assign(&mut self, rhs: Scalar) {
        // An empty part stands for zeros of whatever size the other side has.
        if self.quad.nrows() == 0 {
            self.quad = rhs.quad;
        } else if rhs.quad.nrows() != 0 {
            self.quad += rhs.quad;
        }
        if self.lin.is_empty() {
            self.lin = rhs.lin;
        } else if !rhs.lin.is_empty() {
            self.lin += rhs.lin;
        }
    }
}

impl Mul<f64> for Scalar {
    type Output = Scalar;
    fn mul(self, k: f64) -> Scalar {
        Scalar {
            quad: self.quad * k,
            lin: self.lin * k,
        }
    }
}

/// The points a method visits, recorded as it asks for gradients.
///
/// `oracle(x)` hands out the next basis gradient `e_{k+1}` and the next function
/// value `F_k` for the point `x`; the method only ever combines them linearly.
#[derive(Clone, Debug)]
pub struct Recorder {
    dim: usize,
    points: Vec<Point>,
}

impl Recorder {
    /// A recorder with room for `gradients` gradient evaluations.
    pub fn new(gradients: usize) -> Self {
        Recorder {
            dim: gradients + 1,
            points: Vec::with_capacity(gradients),
        }
    }

    /// The dimension of the Gram basis (`1 +` the number of gradients).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The number of function values (one per gradient).
    pub fn values(&self) -> usize {
        self.dim - 1
    }

    /// `x_0 - x*`: the first basis vector.
    pub fn x0(&self) -> DVector<f64> {
        let mut e = DVector::zeros(self.dim);
        e[0] = 1.0;
        e
    }

    /// The gradient at `x`: a new basis vector, with a new function value.
    ///
    /// Asking for more gradients than the recorder has room for returns the zero
    /// vector and records nothing (the methods here never do).
    pub fn oracle(&mut self, x: &DVector<f64>) -> DVector<f64> {
        let k = self.points.len();
        if k + 1 >= self.dim {
            return DVector::zeros(self.dim);
        }
        let mut g = DVector::zeros(self.dim);
        g[k + 1] = 1.0;
        let mut f = DVector::zeros(self.values());
        f[k] = 1.0;
        self.points.push(Point {
            x: x.clone(),
            g: g.clone(),
            f,
        });
        g
    }

    /// The points recorded so far, in order.
    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// The minimizer: `x* - x* = 0`, `grad f(x*) = 0`, `f* - f* = 0`.
    pub fn optimum(&self) -> Point {
        Point {
            x: DVector::zeros(self.dim),
            g: DVector::zeros(self.dim),
            f: DVector::zeros(self.values()),
        }
    }
}
