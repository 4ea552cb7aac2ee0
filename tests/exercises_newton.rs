//! The numeric answers of the Newton chapter's exercises, checked with the crate.
//!
//! Rounding model: `u = 2^-53`; every basic operation is exact up to a factor
//! `(1 + d)`, `|d| <= u`; a Cholesky solve is backward stable (Higham, Theorem
//! 10.4). Tolerances are written in units of `2^-52 = 2u`.

use descent::problems::Objective;
use descent::problems::quadratic::{Quadratic, SplitMix64};
use descent::second_order::diagonal::{BeckerLeCun, BeckerLeCunConfig};
use descent::second_order::natural::natural_direction;
use descent::second_order::newton::{Newton, NewtonConfig};
use nalgebra::{DMatrix, DVector};
use num_dual::DualNum;

/// `2^-52`, the unit in which tolerances are written.
const ULP: f64 = f64::EPSILON;

fn pure_newton() -> Newton {
    Newton::new(NewtonConfig::default()).expect("valid")
}

/// `|x|` after `steps` diagonal steps with rate `lr` and no guard (`mu = 0`) on
/// `x' A x / 2` with `A = 0.9 * 1 1' + 0.1 I` in dimension `n`, from `x = 1`.
fn diagonal_run(n: usize, lr: f64, steps: usize) -> f64 {
    let a = DMatrix::from_fn(n, n, |i, j| if i == j { 1.0 } else { 0.9 });
    let f = Quadratic::new(a, DVector::zeros(n)).expect("valid quadratic");
    let opt = BeckerLeCun::new(BeckerLeCunConfig { lr, mu: 0.0 }).expect("valid");
    let mut x = DVector::from_element(n, 1.0);
    for _ in 0..steps {
        opt.step(&f, &mut x).expect("finite step");
    }
    x.norm()
}

// claim: exercise-newton-1
#[test]
fn exercise_newton_1_largest_diagonal_rate() {
    // The diagonal is the identity, so the step is x <- (I - lr A) x, with
    // eigenvalues 1 - lr (0.9 n + 0.1) and 1 - 0.1 lr. It converges exactly when
    // lr < 2 / (0.9 n + 0.1): 5/7 = 0.714... for n = 3, 2/1.9 for n = 2.
    let limit = |n: usize| 2.0 / (0.9 * n as f64 + 0.1);
    assert!((limit(3) - 5.0 / 7.0).abs() < 1e-15);
    // Just below the limit: factor |1 - 0.70 * 2.8| = 0.96 along 1 and 0.93
    // across, so 2000 steps shrink |x| = sqrt(3) by 0.96^2000 < 1e-35. Just
    // above: |1 - 0.72 * 2.8| = 1.016, and 1.016^2000 > 1e13. Rounding adds at
    // most a few units of 2^-52 per step, far below both margins.
    assert!(diagonal_run(3, 0.70, 2000) < 1e-30);
    assert!(diagonal_run(3, 0.72, 2000) > 1e10);
    // The unit step of Becker and LeCun (lr = 1) is inside the limit only for
    // n = 1 and n = 2.
    assert!(limit(2) > 1.0 && limit(3) < 1.0);
    assert!(diagonal_run(2, 1.0, 2000) < 1e-30);
    assert!(diagonal_run(3, 1.0, 200) > 1e30);
}

// claim: exercise-newton-2
#[test]
fn exercise_newton_2_subsampled_hessian_lengthens_the_step() {
    let newton = pure_newton();
    let dir = |g: &DVector<f64>, h: &DMatrix<f64>| newton.direction(g, h).expect("descent").p;
    // Two examples with curvatures 1 and 3 share the full gradient g = 1. The
    // full Hessian is 2 (step -1/2); the two one-example Hessians give -1 and
    // -1/3, whose mean is -2/3: 4/3 of the full step. A 1x1 Cholesky solve
    // takes a square root and two divisions (three roundings), so each value is
    // within 2 units of 2^-52, relative; the ratio within 4.
    let g = DVector::from_element(1, 1.0);
    let full = dir(&g, &DMatrix::from_element(1, 1, 2.0))[0];
    let mean = 0.5
        * (dir(&g, &DMatrix::from_element(1, 1, 1.0))[0]
            + dir(&g, &DMatrix::from_element(1, 1, 3.0))[0]);
    assert!((full + 0.5).abs() <= ULP);
    assert!((mean + 2.0 / 3.0).abs() <= 2.0 * ULP);
    assert!((mean / full - 4.0 / 3.0).abs() <= 4.0 * ULP);
    // In general E[H_B^-1] >= (E H_B)^-1: along any g, the mean of the
    // subsampled Newton steps is at least as long as the full step. Random 3x3
    // positive definite pairs; the slack g'(mean of H_i^-1 - H^-1) g is checked
    // against the solves' rounding, a few units of 2^-52 times cond(H_i) |g|^2
    // (cond below 1e3 here, so 1e-9 |g|^2 is a wide margin).
    let mut rng = SplitMix64::new(7);
    for _ in 0..200 {
        let mut random_spd = || {
            let m = DMatrix::from_fn(3, 3, |_, _| rng.uniform(-1.0, 1.0));
            &m * m.transpose() + DMatrix::identity(3, 3) * 0.1
        };
        let (h1, h2) = (random_spd(), random_spd());
        let h = (&h1 + &h2) * 0.5;
        let g = DVector::from_vec(vec![0.3, -1.0, 0.7]);
        let along = |p: DVector<f64>| -g.dot(&p);
        let slack = 0.5 * (along(dir(&g, &h1)) + along(dir(&g, &h2))) - along(dir(&g, &h));
        assert!(slack >= -1e-9 * g.norm_squared(), "slack {slack}");
    }
}

/// `f(x) = x^4` in one dimension.
struct Quartic;

impl Objective for Quartic {
    fn dim(&self) -> usize {
        1
    }
    fn eval<D: DualNum<Primitive = f64>>(&self, x: &DVector<D>) -> D {
        x[0].powi(4)
    }
}

// claim: exercise-newton-3
#[test]
fn exercise_newton_3_degenerate_minimum_is_linear() {
    // Newton's step on x^4 is x - 4x^3 / (12 x^2) = (2/3) x: the error shrinks by
    // the constant factor 2/3, not quadratically. Each step rounds the gradient,
    // the Hessian, the solve and the update (a few units of 2^-52), so after k
    // steps x_k = (2/3)^k to within about 8 k units, relative; the test allows 16 k.
    let newton = pure_newton();
    let mut x = DVector::from_element(1, 1.0);
    for k in 1..=60 {
        newton.step(&Quartic, &mut x).expect("descent step");
        let expect = (2.0f64 / 3.0).powi(k);
        assert!(
            (x[0] - expect).abs() <= 16.0 * k as f64 * ULP * expect,
            "step {k}: {} against {expect}",
            x[0]
        );
    }
}

/// A network with one tanh hidden layer and one linear output, on one example
/// `(input, target)`, with loss `E = (y - target)^2 / 2`. Parameters: the hidden
/// weights `W` (row-major, `hidden x inputs`), then the output weights `v`.
struct TinyNet {
    input: Vec<f64>,
    target: f64,
    hidden: usize,
}

impl TinyNet {
    fn output<D: DualNum<Primitive = f64>>(&self, theta: &DVector<D>) -> D {
        let k = self.input.len();
        let mut y = D::from(0.0);
        for j in 0..self.hidden {
            let mut a = D::from(0.0);
            for (i, &xi) in self.input.iter().enumerate() {
                a += theta[j * k + i].clone() * xi;
            }
            y += theta[self.hidden * k + j].clone() * a.tanh();
        }
        y
    }
}

impl Objective for TinyNet {
    fn dim(&self) -> usize {
        self.hidden * (self.input.len() + 1)
    }
    fn eval<D: DualNum<Primitive = f64>>(&self, theta: &DVector<D>) -> D {
        let r = self.output(theta) - self.target;
        r.clone() * r * 0.5
    }
}

/// The answer of exercise 4: the Hessian diagonal by one backward pass of second
/// derivatives. With `keep_second` false the `f''` term is dropped (the
/// Gauss-Newton diagonal that LeCun et al. use).
fn backprop_diagonal(net: &TinyNet, theta: &DVector<f64>, keep_second: bool) -> DVector<f64> {
    let k = net.input.len();
    let hj = net.hidden;
    let a: Vec<f64> = (0..hj)
        .map(|j| (0..k).map(|i| theta[j * k + i] * net.input[i]).sum())
        .collect();
    let h: Vec<f64> = a.iter().map(|a| a.tanh()).collect();
    let y: f64 = (0..hj).map(|j| theta[hj * k + j] * h[j]).sum();
    let de_dy = y - net.target; // dE/dy
    let d2e_dy2 = 1.0; // d2E/dy2
    let mut diag = DVector::zeros(net.dim());
    for j in 0..hj {
        let v = theta[hj * k + j];
        let f1 = 1.0 - h[j] * h[j]; // tanh'
        let f2 = -2.0 * h[j] * f1; // tanh''
        // d2E/da_j^2 = f'(a)^2 v^2 d2E/dy2 + f''(a) dE/dh_j, dE/dh_j = v dE/dy.
        let mut d2e_da2 = f1 * f1 * v * v * d2e_dy2;
        if keep_second {
            d2e_da2 += f2 * v * de_dy;
        }
        for i in 0..k {
            diag[j * k + i] = net.input[i] * net.input[i] * d2e_da2;
        }
        diag[hj * k + j] = h[j] * h[j] * d2e_dy2;
    }
    diag
}

// claim: exercise-newton-4
#[test]
fn exercise_newton_4_second_order_backprop() {
    let net = TinyNet {
        input: vec![0.8, -1.1, 0.4],
        target: 0.3,
        hidden: 4,
    };
    let mut rng = SplitMix64::new(3);
    let theta = DVector::from_fn(net.dim(), |_, _| rng.uniform(-1.0, 1.0));
    // Exact: the crate's Hessian by second-order dual numbers.
    let exact = net.hessian(&theta).diagonal();
    // Gauss-Newton: (dy/dtheta)^2 d2E/dy2, from the dual-number gradient of y.
    let (_, dy) = num_dual::gradient(|t| net.output(&t), &theta);
    let ggn = dy.component_mul(&dy);
    let full = backprop_diagonal(&net, &theta, true);
    let gauss_newton = backprop_diagonal(&net, &theta, false);
    // Both sides are short sums of products of numbers below 10 in magnitude;
    // their roundings stay below 64 units of 2^-52 of the largest entry.
    let tol = 64.0 * ULP * exact.amax().max(1.0);
    assert!((&full - &exact).amax() <= tol, "{full} against {exact}");
    assert!((&gauss_newton - &ggn).amax() <= tol);
    // The dropped term is not negligible here: the residual y - target is of
    // order one.
    assert!((&gauss_newton - &exact).amax() > 1e-3);
}

/// Exercise 5: on `L(theta) = h theta^2 / 2` the step damped by `delta`,
/// `-(h + delta)^{-1} h theta`, computed in `y = c theta` and mapped back, is
/// `-h theta / (h + c^2 delta)`: it agrees with the step in `theta` only when
/// `c^2 = 1` or `delta = 0`. The damped solve is the crate's
/// [`natural_direction`] (the solve of `(M + delta I) d = -g` with a given
/// `delta`; with `M` the Hessian it is the Levenberg–Marquardt step). The
/// undamped step, from [`Newton::direction`], is `-theta` in both variables.
///
/// Tolerance: the solve rounds `h + delta`, its square root and two divisions;
/// the gradient `h x`, the change of variable (`c theta`, `h / c^2`) and the map
/// back (`/ c`) add four more, and the predicted value five: fewer than 16
/// roundings of size `u`, so `16 * 2^-52` relative. The two parametrizations
/// differ by the relative amount `|c^2 - 1| delta / (h + c^2 delta)`, at least
/// `0.99 * 1e-3 / 10.001 ~ 9.9e-5` in the cases below, far above that.
// claim: exercise-newton-5
#[test]
fn exercise_newton_5_damping_breaks_affine_invariance() {
    let damped = |h: f64, x: f64, delta: f64| {
        natural_direction(
            &DMatrix::from_element(1, 1, h),
            &DVector::from_element(1, h * x),
            delta,
        )
        .expect("positive definite")[0]
    };
    let close = |a: f64, b: f64| (a - b).abs() <= 16.0 * ULP * b.abs();
    let mut compared = 0;
    for h in [0.5, 2.0, 10.0] {
        for theta in [1.5, -0.3] {
            for c in [0.1, -1.0, 1.0, 3.0] {
                for delta in [0.0, 1e-3, 0.5] {
                    let in_theta = damped(h, theta, delta);
                    let in_y = damped(h / (c * c), c * theta, delta) / c;
                    assert!(
                        close(in_theta, -h * theta / (h + delta)),
                        "h {h}, theta {theta}, delta {delta}: {in_theta}"
                    );
                    assert!(
                        close(in_y, -h * theta / (h + c * c * delta)),
                        "h {h}, theta {theta}, c {c}, delta {delta}: {in_y}"
                    );
                    if c * c == 1.0 || delta == 0.0 {
                        assert!(close(in_y, in_theta), "c {c}, delta {delta}");
                    } else {
                        let gap = (in_y - in_theta).abs() / in_theta.abs();
                        assert!(gap > 9e-5, "h {h}, c {c}, delta {delta}: gap {gap}");
                        compared += 1;
                    }
                }
            }
        }
    }
    assert_eq!(compared, 3 * 2 * 2 * 2);
    // The crate's Newton takes the undamped step here (h > 0): -theta in theta,
    // -y in y, the same step once mapped back.
    let newton = pure_newton();
    for (h, theta, c) in [(0.5, 1.5, 0.1), (10.0, -0.3, 3.0)] {
        let one = |v: f64| DVector::from_element(1, v);
        let d = newton
            .direction(&one(h * theta), &DMatrix::from_element(1, 1, h))
            .expect("positive definite");
        let y = c * theta;
        let dy = newton
            .direction(
                &one(h / (c * c) * y),
                &DMatrix::from_element(1, 1, h / (c * c)),
            )
            .expect("positive definite");
        assert_eq!(d.lambda, 0.0);
        assert_eq!(dy.lambda, 0.0);
        assert!(close(d.p[0], -theta) && close(dy.p[0] / c, -theta));
    }
}
