//! Claims that need no tolerance: the crate's own root-free rules (SGD with
//! momentum, Nesterov and weight decay) run in exact rational arithmetic, and
//! their iterates are compared with `==`.
//!
//! The rules are generic over [`descent::optim::Scalar`]; [`Q`] implements it
//! with big rationals (`num-rational`), where every operation, `mul_add`
//! included, is exact. Hyperparameters are `f64` in the configurations and each
//! per-step constant is computed in `f64` and converted exactly (PyTorch computes
//! them in Python floats too); where a constant is a combination such as
//! `1 - lr lambda`, the test picks dyadic values so that the `f64` computation is
//! exact and the claim is about the real numbers.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::fmt;
use std::ops::{Add, Div, Mul, Neg, Sub};

use descent::optim::{Optim, Scalar, SgdConfig, WeightDecay};
use descent::second_order::newton::{
    Armijo, Damping, Newton, NewtonConfig, NewtonError, NewtonObjective, NewtonScalar,
};
use nalgebra::{DMatrix, DVector};
use num_rational::BigRational;
use num_traits::{ToPrimitive, Zero};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};

thread_local! {
    /// Every rational any test has made on this thread; a [`Q`] is an index.
    static ARENA: RefCell<Vec<BigRational>> = const { RefCell::new(Vec::new()) };
}

/// An exact rational number: a `Copy` handle into a per-thread arena of big
/// rationals (the `Scalar` trait asks for `Copy` so that the rules read like
/// their formulas). Tests are short, so the arena is never cleared.
#[derive(Clone, Copy)]
struct Q(usize);

impl Q {
    fn new(r: BigRational) -> Q {
        ARENA.with(|a| {
            let mut a = a.borrow_mut();
            a.push(r);
            Q(a.len() - 1)
        })
    }
    fn get(self) -> BigRational {
        ARENA.with(|a| a.borrow()[self.0].clone())
    }
    fn int(n: i64) -> Q {
        Q::new(BigRational::from_integer(n.into()))
    }
    fn ratio(n: i64, d: i64) -> Q {
        Q::new(BigRational::new(n.into(), d.into()))
    }
}

impl fmt::Debug for Q {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.get())
    }
}

impl PartialEq for Q {
    fn eq(&self, other: &Q) -> bool {
        self.get() == other.get()
    }
}

impl PartialOrd for Q {
    fn partial_cmp(&self, other: &Q) -> Option<Ordering> {
        Some(self.get().cmp(&other.get()))
    }
}

macro_rules! binary {
    ($trait:ident, $method:ident, $op:tt) => {
        impl $trait for Q {
            type Output = Q;
            fn $method(self, other: Q) -> Q {
                Q::new(self.get() $op other.get())
            }
        }
    };
}
binary!(Add, add, +);
binary!(Sub, sub, -);
binary!(Mul, mul, *);
binary!(Div, div, /);

impl Neg for Q {
    type Output = Q;
    fn neg(self) -> Q {
        Q::new(-self.get())
    }
}

impl Scalar for Q {
    fn from_f64(x: f64) -> Q {
        // Every finite f64 is a rational; the conversion is exact.
        Q::new(BigRational::from_float(x).expect("a finite f64"))
    }
    fn to_f64(self) -> f64 {
        self.get().to_f64().unwrap_or(f64::NAN)
    }
    fn mul_add(self, a: Q, b: Q) -> Q {
        Q::new(self.get() * a.get() + b.get())
    }
    fn is_finite(self) -> bool {
        true
    }
    fn max(self, other: Q) -> Q {
        if other > self { other } else { self }
    }
    fn min(self, other: Q) -> Q {
        if other < self { other } else { self }
    }
}

/// Newton's method in rationals: the crate's default solve for a type that is
/// not `f64`, the square-root-free `LDL'` factorization.
impl NewtonScalar for Q {}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: ProptestConfig::default().cases.min(64),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        rng_seed: RngSeed::Fixed(0x5eed_e8ac),
        ..ProptestConfig::default()
    }
}

/// SGD in exact rationals.
fn sgd(config: SgdConfig) -> Optim<SgdConfig, Q> {
    Optim::<SgdConfig, Q>::in_scalar(config).expect("valid hyperparameters")
}

/// A small rational from a proptest integer: `n / 16`.
fn q16(n: i64) -> Q {
    Q::ratio(n, 16)
}

/// The gradient `A x - b` of `x'Ax/2 - b'x`, in rationals.
fn quad_grad(a: &[Vec<Q>], b: &[Q], x: &[Q]) -> Vec<Q> {
    a.iter()
        .zip(b)
        .map(|(row, bi)| {
            row.iter()
                .zip(x)
                .fold(Q::int(0), |acc, (aij, xj)| acc + *aij * *xj)
                - *bi
        })
        .collect()
}

/// A random symmetric matrix with entries in sixteenths, and a vector.
fn problem(entries: &[i64], n: usize) -> (Vec<Vec<Q>>, Vec<Q>, Vec<Q>) {
    let at = |k: usize| entries[k % entries.len()];
    let a: Vec<Vec<Q>> = (0..n)
        .map(|i| {
            (0..n)
                .map(|j| {
                    let (r, c) = (i.min(j), i.max(j));
                    q16(at(r * n + c))
                })
                .collect()
        })
        .collect();
    let b: Vec<Q> = (0..n).map(|i| q16(at(100 + i))).collect();
    let x0: Vec<Q> = (0..n).map(|i| q16(at(200 + 3 * i))).collect();
    (a, b, x0)
}

proptest! {
    #![proptest_config(config())]

    /// momentum-unrolled, exactly: the crate's SGD with momentum beta and no
    /// dampening, run in rationals on arbitrary rational gradients, has
    /// `theta_t = theta_0 - eta sum_{s<=t} sum_{k<=s} beta^(s-k) g_k`, with `==`.
    // claim: momentum-unrolled
    #[test]
    fn momentum_unrolled_in_rationals(
        grads in prop::collection::vec(prop::collection::vec(-64i64..64, 3), 1..12),
        start in prop::collection::vec(-64i64..64, 3),
        beta in prop_oneof![Just(0.9), Just(0.5), Just(0.99), 0.01f64..0.999],
        lr in prop_oneof![Just(0.01), Just(0.1), 1e-4f64..1.0],
    ) {
        let mut opt = sgd(SgdConfig { lr, momentum: beta, ..SgdConfig::default() });
        let mut theta: Vec<Q> = start.iter().map(|&v| q16(v)).collect();
        let theta0 = theta.clone();
        let (b, eta) = (Q::from_f64(beta), Q::from_f64(lr));
        let gs: Vec<Vec<Q>> = grads.iter().map(|g| g.iter().map(|&v| q16(v)).collect()).collect();
        for t in 1..=gs.len() {
            opt.step_slice(&mut theta, &gs[t - 1]).unwrap();
            for i in 0..3 {
                let mut sum = Q::int(0);
                for s in 1..=t {
                    let mut power = Q::int(1);
                    for k in (1..=s).rev() {
                        sum = sum + power * gs[k - 1][i];
                        power = power * b;
                    }
                }
                prop_assert_eq!(theta[i], theta0[i] - eta * sum, "step {} coord {}", t, i);
            }
        }
    }

    /// nesterov-forms-equivalent, exactly: the crate's SGD with `nesterov=True`
    /// (PyTorch's form) on a quadratic, and Sutskever's look-ahead form written
    /// here, evaluate gradients at the same points and satisfy
    /// `Theta_t = theta_t + beta v_t` at every step, with `==`.
    // claim: nesterov-forms-equivalent
    #[test]
    fn nesterov_forms_equivalent_in_rationals(
        entries in prop::collection::vec(-32i64..32, 16),
        n in 1usize..4,
        steps in 1usize..10,
        beta in prop_oneof![Just(0.9), 0.01f64..0.999],
        lr in prop_oneof![Just(0.05), 1e-3f64..0.5],
    ) {
        let (a, b, x0) = problem(&entries, n);
        let mut opt = sgd(SgdConfig { lr, momentum: beta, nesterov: true, ..SgdConfig::default() });
        let (bq, eta) = (Q::from_f64(beta), Q::from_f64(lr));
        let mut big_theta = x0.clone();
        let (mut theta, mut v) = (x0.clone(), vec![Q::int(0); n]);
        for t in 1..=steps {
            let g = quad_grad(&a, &b, &big_theta);
            opt.step_slice(&mut big_theta, &g).unwrap();
            let look: Vec<Q> = (0..n).map(|i| theta[i] + bq * v[i]).collect();
            let gl = quad_grad(&a, &b, &look);
            for i in 0..n {
                v[i] = bq * v[i] - eta * gl[i];
                theta[i] = theta[i] + v[i];
            }
            for i in 0..n {
                prop_assert_eq!(big_theta[i], theta[i] + bq * v[i], "step {} coord {}", t, i);
            }
        }
    }

    /// l2-equals-decay-for-sgd, exactly: plain SGD with the L2 term `lambda` and
    /// SGD with decoupled decay `lambda` (SGDW, PyTorch's parametrization: the
    /// factor `1 - lr lambda` before the step) take identical steps, with `==`.
    /// Dyadic `lr` and `lambda` make the `f64` factor `1 - lr lambda` exact.
    // claim: l2-equals-decay-for-sgd
    #[test]
    fn l2_equals_decay_for_sgd_in_rationals(
        entries in prop::collection::vec(-32i64..32, 16),
        n in 1usize..4,
        steps in 1usize..10,
        lr_exp in 1i32..8,
        lambda_exp in 1i32..8,
    ) {
        let (a, b, x0) = problem(&entries, n);
        let (lr, lambda) = (2f64.powi(-lr_exp), 2f64.powi(-lambda_exp));
        let mut l2 = sgd(SgdConfig { lr, weight_decay: WeightDecay::L2(lambda), ..SgdConfig::default() });
        let mut dec = sgd(SgdConfig { lr, weight_decay: WeightDecay::Decoupled(lambda), ..SgdConfig::default() });
        let (mut x, mut y) = (x0.clone(), x0.clone());
        for t in 1..=steps {
            let gx = quad_grad(&a, &b, &x);
            let gy = quad_grad(&a, &b, &y);
            l2.step_slice(&mut x, &gx).unwrap();
            dec.step_slice(&mut y, &gy).unwrap();
            prop_assert_eq!(&x, &y, "step {}", t);
        }
    }

    /// gd-quadratic-stability's closed form, exactly: the crate's plain SGD with
    /// exact gradients on `x'Ax/2 - b'x` gives `x_t - c = (I - eta A)^t (x_0 - c)`
    /// for any `c` with `A c = b`; with `b = 0` (`c = 0`) that is
    /// `x_t = (I - eta A)^t x_0`, checked with `==` against the matrix power.
    // claim: gd-quadratic-stability
    #[test]
    fn gd_quadratic_closed_form_in_rationals(
        entries in prop::collection::vec(-32i64..32, 16),
        n in 1usize..4,
        steps in 1usize..10,
        lr in prop_oneof![Just(0.1), 1e-3f64..1.0],
    ) {
        let (a, _, x0) = problem(&entries, n);
        let zero = vec![Q::int(0); n];
        let eta = Q::from_f64(lr);
        let mut opt = sgd(SgdConfig { lr, ..SgdConfig::default() });
        let mut x = x0.clone();
        // M = I - eta A, and P = M^t built alongside.
        let m: Vec<Vec<Q>> = (0..n)
            .map(|i| (0..n).map(|j| Q::int(i64::from(i == j)) - eta * a[i][j]).collect())
            .collect();
        let mut p: Vec<Vec<Q>> = (0..n).map(|i| (0..n).map(|j| Q::int(i64::from(i == j))).collect()).collect();
        for t in 1..=steps {
            let g = quad_grad(&a, &zero, &x);
            opt.step_slice(&mut x, &g).unwrap();
            p = (0..n)
                .map(|i| {
                    (0..n)
                        .map(|j| (0..n).fold(Q::int(0), |acc, k| acc + m[i][k] * p[k][j]))
                        .collect()
                })
                .collect();
            let closed: Vec<Q> = (0..n)
                .map(|i| (0..n).fold(Q::int(0), |acc, j| acc + p[i][j] * x0[j]))
                .collect();
            prop_assert_eq!(&x, &closed, "step {}", t);
        }
    }

    /// heavy-ball-optimal-rate's premise, exactly: the crate's SGD with momentum
    /// beta, no dampening, is Polyak's heavy ball
    /// `x_{t+1} = x_t - eta grad(x_t) + beta (x_t - x_{t-1})` (with `x_{-1} = x_0`),
    /// checked with `==` on a quadratic.
    // claim: heavy-ball-optimal-rate
    #[test]
    fn heavy_ball_recursion_in_rationals(
        entries in prop::collection::vec(-32i64..32, 16),
        n in 1usize..4,
        steps in 1usize..10,
        beta in prop_oneof![Just(0.9), 0.01f64..0.999],
        lr in prop_oneof![Just(0.05), 1e-3f64..0.5],
    ) {
        let (a, b, x0) = problem(&entries, n);
        let (bq, eta) = (Q::from_f64(beta), Q::from_f64(lr));
        let mut opt = sgd(SgdConfig { lr, momentum: beta, ..SgdConfig::default() });
        let mut x = x0.clone();
        let (mut prev, mut cur) = (x0.clone(), x0.clone());
        for t in 1..=steps {
            let g = quad_grad(&a, &b, &x);
            opt.step_slice(&mut x, &g).unwrap();
            let gc = quad_grad(&a, &b, &cur);
            let next: Vec<Q> = (0..n).map(|i| cur[i] - eta * gc[i] + bq * (cur[i] - prev[i])).collect();
            prev = cur;
            cur = next;
            prop_assert_eq!(&x, &cur, "step {}", t);
        }
    }
}

/// `f(x) = x'Ax/2 - b'x` in rationals, for Newton's method: value, gradient
/// `Ax - b` and Hessian `A`, all exact.
struct RationalQuadratic {
    a: DMatrix<Q>,
    b: DVector<Q>,
}

impl NewtonObjective<Q> for RationalQuadratic {
    fn dim(&self) -> usize {
        self.b.len()
    }
    fn value(&self, x: &DVector<Q>) -> Q {
        let n = self.dim();
        let mut f = Q::int(0);
        for i in 0..n {
            for j in 0..n {
                f = f + Q::ratio(1, 2) * x[i] * self.a[(i, j)] * x[j];
            }
            f = f - self.b[i] * x[i];
        }
        f
    }
    fn value_gradient_hessian(&self, x: &DVector<Q>) -> (Q, DVector<Q>, DMatrix<Q>) {
        let n = self.dim();
        let g = DVector::from_fn(n, |i, _| {
            (0..n).fold(Q::int(0), |acc, j| acc + self.a[(i, j)] * x[j]) - self.b[i]
        });
        (self.value(x), g, self.a.clone())
    }
}

/// `A = M'M + I` from a matrix `M` of small integers: symmetric positive
/// definite with integer entries, so every pivot of its factorization is a
/// positive rational.
fn spd_from(entries: &[i64], n: usize) -> DMatrix<Q> {
    let m = |i: usize, j: usize| entries[(i * n + j) % entries.len()];
    DMatrix::from_fn(n, n, |i, j| {
        let mtm: i64 = (0..n).map(|k| m(k, i) * m(k, j)).sum();
        Q::int(mtm + i64::from(i == j))
    })
}

/// The determinant by the Leibniz sum over permutations (no elimination, no
/// division): independent of the factorization under test. Fine for `n <= 5`.
fn det(a: &DMatrix<Q>) -> Q {
    fn permutations(rest: &mut Vec<usize>, prefix: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if rest.is_empty() {
            out.push(prefix.clone());
        }
        for k in 0..rest.len() {
            let v = rest.remove(k);
            prefix.push(v);
            permutations(rest, prefix, out);
            prefix.pop();
            rest.insert(k, v);
        }
    }
    let n = a.nrows();
    let mut perms = Vec::new();
    permutations(&mut (0..n).collect(), &mut Vec::new(), &mut perms);
    perms.iter().fold(Q::int(0), |acc, perm| {
        // The sign: -1 to the number of inversions.
        let inversions = (0..n)
            .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
            .filter(|&(i, j)| perm[i] > perm[j])
            .count();
        let term = (0..n).fold(Q::int(1), |t, i| t * a[(i, perm[i])]);
        if inversions % 2 == 0 {
            acc + term
        } else {
            acc - term
        }
    })
}

/// `A^{-1} b` by Cramer's rule: `x_i = det(A with column i replaced by b) / det A`.
fn cramer(a: &DMatrix<Q>, b: &DVector<Q>) -> DVector<Q> {
    let d = det(a);
    DVector::from_fn(b.len(), |i, _| {
        let mut ai = a.clone();
        ai.set_column(i, b);
        det(&ai) / d
    })
}

proptest! {
    #![proptest_config(config())]

    /// newton-one-step-quadratic, exactly: the crate's Newton step (its
    /// direction, its step and, in one case of two, its Armijo test) run in
    /// rationals on `x'Ax/2 - b'x` with `A = M'M + I` lands on `A^{-1} b`, with
    /// `==`. The reference is Cramer's rule with Leibniz determinants, which
    /// shares nothing with the `LDL'` solve inside the step.
    // claim: newton-one-step-quadratic
    #[test]
    fn newton_one_step_quadratic_in_rationals(
        entries in prop::collection::vec(-6i64..7, 25),
        rhs in prop::collection::vec(-64i64..64, 5),
        start in prop::collection::vec(-64i64..64, 5),
        n in 1usize..6,
        line_search in any::<bool>(),
    ) {
        let a = spd_from(&entries, n);
        let b = DVector::from_fn(n, |i, _| q16(rhs[i]));
        let mut x = DVector::from_fn(n, |i, _| q16(start[i]));
        let f = RationalQuadratic { a: a.clone(), b: b.clone() };
        let config = NewtonConfig {
            line_search: line_search.then(Armijo::default),
            ..NewtonConfig::default()
        };
        let newton = Newton::new(config).unwrap();
        let info = newton.step_in(&f, &mut x).unwrap();
        let x_star = cramer(&a, &b);
        prop_assert_eq!(&x, &x_star);
        prop_assert_eq!(info.lambda, 0.0);
        if line_search && info.step_length > 0.0 {
            // The unit step passes Armijo's test on a quadratic (c1 < 1/2), and
            // the loss it reports is f(x*) exactly.
            prop_assert_eq!(info.step_length, 1.0);
            prop_assert_eq!(info.new_loss, Some(f.value(&x_star)));
        }
    }
}

/// In rationals the `LDL'` pivots decide positive definiteness exactly: a
/// singular positive semidefinite Hessian `M'M` (rank one) has a pivot that is
/// exactly zero, so the undamped step is refused, and with damping the first
/// `lambda` is taken.
#[test]
fn newton_in_rationals_refuses_a_singular_hessian() {
    // M = [1 2 3] (one row), so M'M is 3x3 of rank one.
    let row = [1i64, 2, 3];
    let h = DMatrix::from_fn(3, 3, |i, j| Q::int(row[i] * row[j]));
    let g = DVector::from_fn(3, |i, _| Q::int(i as i64 - 1));
    let refuse = Newton::new(NewtonConfig::default()).unwrap();
    assert_eq!(
        refuse.direction_in(&g, &h),
        Err(NewtonError::NotPositiveDefinite)
    );
    let damped = Newton::new(NewtonConfig {
        damping: Damping::levenberg_marquardt(),
        ..NewtonConfig::default()
    })
    .unwrap();
    let dir = damped.direction_in(&g, &h).unwrap();
    assert_eq!(dir.lambda, 1e-3);
    // (H + lambda I) p = -g, exactly.
    let lambda = Q::from_f64(1e-3);
    for i in 0..3 {
        let row_i = (0..3).fold(Q::int(0), |acc, j| acc + h[(i, j)] * dir.p[j]) + lambda * dir.p[i];
        assert_eq!(row_i, -g[i], "row {i}");
    }
    assert!(dir.slope < Q::int(0));
}

/// `Q` is a field: a quick check that the arena arithmetic is right, so that a
/// failure above is the crate's and not the test type's.
#[test]
fn rational_arithmetic_is_exact() {
    let third = Q::ratio(1, 3);
    assert_eq!(third * Q::int(3), Q::int(1));
    // 0.1 is not exactly a tenth in binary: 10 * fl(0.1) - 1 is not zero.
    assert!(
        !Q::from_f64(0.1)
            .mul_add(Q::int(10), Q::int(-1))
            .get()
            .is_zero()
    );
    assert_eq!(Q::from_f64(0.5) + Q::from_f64(0.25), Q::ratio(3, 4));
    assert!(Q::ratio(1, 3) < Q::ratio(1, 2));
}
