//! RMSprop and AdaDelta (catalogue section 7): invariance of RMSprop to the
//! gradient's scale, Adam with `beta1 = 0` as bias-corrected RMSprop, the units
//! of AdaDelta's update and of the others', AdaDelta's first step, and the
//! Hessian (not a "Hamiltonian") behind diagonal curvature.
//!
//! Scaling arguments. Multiplying a double by a power of two `2^k` is exact, and
//! commutes with every correctly rounded operation (`+`, `*`, `/`, `sqrt`, fused
//! multiply-add) as long as no intermediate result leaves the normal range: the
//! rounded result of the scaled operands is the scaled rounded result. So when
//! every input of an update is scaled by a power of two, the computed output is
//! scaled by the matching power of two, bit for bit. The square root needs an
//! even power: `sqrt(4^k v) = 2^k sqrt(v)`, exactly. The ranges chosen below keep
//! every intermediate far from underflow and overflow.

use descent::optim::moments::{bias_correction, ema_sq};
use descent::optim::{
    Adadelta, AdadeltaConfig, Adagrad, AdagradConfig, Adam, AdamConfig, Optimizer, RmsProp,
    RmsPropConfig, Sgd, SgdConfig, WeightDecay,
};
use descent::problems::Objective;
use descent::problems::quadratic::{Quadratic, SplitMix64};
use descent::second_order::diagonal::{BeckerLeCun, BeckerLeCunConfig};
use descent::second_order::newton::{Newton, NewtonConfig};
use nalgebra::{DMatrix, DVector};
use num_dual::DualNum;
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};

const EPS: f64 = f64::EPSILON;

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        rng_seed: RngSeed::Fixed(0x5eed_0701),
        ..ProptestConfig::default()
    }
}

/// `steps` gradients of dimension `n` from `seed`, every entry nonzero, of
/// magnitude `2^e (1 + u)` with `e` in `[-30, 30]` and random sign.
fn nonzero_gradients(seed: u64, n: usize, steps: usize) -> Vec<DVector<f64>> {
    let mut rng = SplitMix64::new(seed);
    (0..steps)
        .map(|_| {
            DVector::from_fn(n, |_, _| {
                let e = (rng.next_u64() % 61) as i32 - 30;
                let s = if rng.next_u64().is_multiple_of(2) {
                    1.0
                } else {
                    -1.0
                };
                s * 2f64.powi(e) * (1.0 + rng.next_f64())
            })
        })
        .collect()
}

fn bits(v: &DVector<f64>) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// The update an optimizer takes from its current state on gradient `g`,
/// observed exactly: stepping a zero parameter vector gives `0 + u = u` (for the
/// optimizers here, without weight decay, the update does not depend on the
/// parameters).
fn update<O: Optimizer + ?Sized>(opt: &mut O, g: &DVector<f64>) -> DVector<f64> {
    let mut u = DVector::zeros(g.len());
    opt.step(&mut u, g).unwrap();
    u
}

// ---- rmsprop-gradient-scale-invariance ------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// With eps = 0, RMSprop run on `c g_t` (c = 2^k) gives the same iterates, bit
    /// for bit, as on `g_t`, with or without momentum, centered or not, with
    /// decoupled weight decay or none. Every state buffer scales by c^2 (`v`), c
    /// (`gbar`) or 1 (momentum), and `g / a` is unchanged. Range: `|g|` in
    /// `[2^-30, 2^31)` and `k` in `[-60, 60]` keep `g^2 c^2` within
    /// `[2^-180, 2^182]`. A step that both runs refuse (a zero variance when
    /// centered) must be refused identically.
    // claim: rmsprop-gradient-scale-invariance
    #[test]
    fn rmsprop_iterates_invariant_under_gradient_scale(
        seed in any::<u64>(),
        n in 1usize..5,
        steps in 1usize..100,
        k in -60i32..=60,
        lr in 1e-4f64..1.0,
        alpha in 0.0f64..0.9999,
        momentum in prop_oneof![Just(0.0), 0.0f64..0.99],
        centered in any::<bool>(),
        decoupled in any::<bool>(),
        maximize in any::<bool>(),
    ) {
        let c = 2f64.powi(k);
        let cfg = RmsPropConfig {
            lr,
            alpha,
            eps: 0.0,
            weight_decay: if decoupled { WeightDecay::Decoupled(0.1) } else { WeightDecay::None },
            momentum,
            centered,
            maximize,
        };
        let (mut a, mut b) = (RmsProp::new(cfg).unwrap(), RmsProp::new(cfg).unwrap());
        let mut x = DVector::from_fn(n, |i, _| 1.0 - i as f64);
        let mut y = x.clone();
        for g in nonzero_gradients(seed, n, steps) {
            let ra = a.step(&mut x, &g);
            let rb = b.step(&mut y, &(&g * c));
            prop_assert_eq!(ra, rb);
            prop_assert_eq!(bits(&x), bits(&y));
        }
    }
}

/// The assumption `eps = 0` is needed: with PyTorch's `eps = 1e-8` and gradients
/// scaled by `2^-30` (about `1e-9`), the denominator `sqrt(v) + eps` is
/// dominated by `eps`, and the first step shrinks from about `0.1` to about
/// `0.00092`.
// claim: rmsprop-gradient-scale-invariance
#[test]
fn rmsprop_scale_invariance_needs_eps_zero() {
    let cfg = RmsPropConfig::default();
    let g = DVector::from_element(1, 1.0);
    let c = 2f64.powi(-30);
    let u = update(&mut RmsProp::new(cfg).unwrap(), &g);
    let v = update(&mut RmsProp::new(cfg).unwrap(), &(&g * c));
    // Unscaled: -lr g / (sqrt(0.01) g + eps) = -0.1 / (1 + 1e-7), within 1e-8
    // of -0.1. Scaled: the denominator is 0.1 c + 1e-8 = 9.3e-11 + 1e-8, so the
    // step is -0.01 c / 1.0093e-8 = -9.2e-4. Both sides of each comparison are
    // the same few roundings apart (a few eps relative, below 1e-18 here), so
    // the bounds 2e-8 and 1e-15 are loose.
    assert!((u[0] + 0.1).abs() < 2e-8);
    assert!((v[0] + 0.01 * c / (0.1 * c + 1e-8)).abs() < 1e-15);
    assert!(v[0].abs() < 0.01 * u[0].abs());
}

// ---- adam-beta1-zero-is-bias-corrected-rmsprop ----------------------------------

proptest! {
    #![proptest_config(config())]

    /// Adam with beta1 = 0 and RMSprop with alpha = beta2, run side by side on the
    /// same gradients:
    ///
    /// - Adam's first moment is the gradient itself and its bias correction
    ///   `1 - 0^t` is 1, exactly;
    /// - its second moment equals RMSprop's `square_avg`, bit for bit (the same
    ///   update `beta2 v + (1 - beta2) g^2`, in the same order);
    /// - its update is `-lr g / (sqrt(v / bc2) + eps)`: RMSprop's, on the
    ///   bias-corrected second moment. Tolerance: Adam evaluates
    ///   `sqrt(v) / sqrt(bc2)`, the closed form `sqrt(v / bc2)`; each is within
    ///   `1.5 eps` (relative) of the exact root (three, resp. two, roundings of
    ///   `eps/2`); adding eps > 0 does not raise a relative error, and the final
    ///   division adds `eps/2` to each. So they differ by at most `4 eps |u|`.
    // claim: adam-beta1-zero-is-bias-corrected-rmsprop
    #[test]
    fn adam_beta1_zero_is_rmsprop_on_bias_corrected_v(
        seed in any::<u64>(),
        n in 1usize..5,
        steps in 1usize..100,
        lr in 1e-4f64..1.0,
        beta2 in 0.0f64..0.9999,
        eps in prop_oneof![Just(0.0), 1e-12f64..1e-2],
    ) {
        let mut adam = Adam::new(AdamConfig { lr, betas: (0.0, beta2), eps, ..AdamConfig::default() }).unwrap();
        let mut rms = RmsProp::new(RmsPropConfig { lr, alpha: beta2, eps, ..RmsPropConfig::default() }).unwrap();
        for (t, g) in nonzero_gradients(seed, n, steps).iter().enumerate() {
            let u = update(&mut adam, g);
            update(&mut rms, g);
            let a = adam.state().unwrap();
            let v = &rms.state().unwrap().square_avg;
            prop_assert_eq!(bits(&a.exp_avg), bits(g));
            prop_assert_eq!(bits(&a.exp_avg_sq), bits(v));
            let bc2 = bias_correction(beta2, t as u64 + 1);
            for i in 0..n {
                let closed = -lr * g[i] / ((v[i] / bc2).sqrt() + eps);
                prop_assert!((u[i] - closed).abs() <= 4.0 * EPS * closed.abs(), "t {} i {}: {} vs {}", t + 1, i, u[i], closed);
            }
        }
    }
}

/// Bias correction is what makes the two agree: with `eps = 0`, plain RMSprop's
/// first step is `lr / sqrt(1 - alpha)` in size (`sqrt(1000) lr` for
/// `alpha = 0.999`), Adam's (`beta1 = 0`) is `lr`; and RMSprop with the
/// learning-rate schedule `lr_t = lr sqrt(bc2_t)` follows Adam's iterates for 1000
/// steps. Tolerance: the two updates agree to `4 eps` relative per step (as in
/// the property above, one more rounding for `lr sqrt(bc2)`: `5 eps`), and the
/// sum `theta + u` rounds by `eps/2 |theta|` on each side; the differences add
/// up, so after `T` steps `|theta_adam - theta_rms| <= sum_t (5 eps |u_t| + eps
/// |theta_t|)`, accumulated along the run.
// claim: adam-beta1-zero-is-bias-corrected-rmsprop
#[test]
fn rmsprop_with_sqrt_bc2_schedule_follows_adam_beta1_zero() {
    let (lr, beta2) = (1e-3, 0.999);
    let g1 = DVector::from_element(1, 3.0);
    let mut plain = RmsProp::new(RmsPropConfig {
        lr,
        alpha: beta2,
        eps: 0.0,
        ..RmsPropConfig::default()
    })
    .unwrap();
    let adam_cfg = AdamConfig {
        lr,
        betas: (0.0, beta2),
        eps: 0.0,
        ..AdamConfig::default()
    };
    let u_rms = update(&mut plain, &g1)[0];
    let u_adam = update(&mut Adam::new(adam_cfg).unwrap(), &g1)[0];
    assert!((u_adam + lr).abs() <= 4.0 * EPS * lr);
    assert!((u_rms + lr / (1.0 - beta2).sqrt()).abs() <= 4.0 * EPS * u_rms.abs());

    let mut adam = Adam::new(adam_cfg).unwrap();
    let mut rms = RmsProp::new(RmsPropConfig {
        lr,
        alpha: beta2,
        eps: 0.0,
        ..RmsPropConfig::default()
    })
    .unwrap();
    let mut x = DVector::from_element(2, 1.0);
    let mut y = x.clone();
    let mut allowance = 0.0;
    for (t, g) in nonzero_gradients(7, 2, 1000).iter().enumerate() {
        rms.set_lr(lr * bias_correction(beta2, t as u64 + 1).sqrt())
            .unwrap();
        let before = x.clone();
        adam.step(&mut x, g).unwrap();
        rms.step(&mut y, g).unwrap();
        allowance += 5.0 * EPS * (&x - &before).amax() + EPS * x.amax();
        assert!(
            (&x - &y).amax() <= allowance,
            "step {}: {}",
            t + 1,
            (&x - &y).amax()
        );
    }
}

// ---- AdaDelta with two epsilons (an independent reference) ---------------------

/// REFERENCE IMPLEMENTATION, written in this test only: AdaDelta with one
/// constant under each square root, `eps_num` in the numerator
/// `sqrt(u + eps_num)` and `eps_den` in the denominator `sqrt(v + eps_den)`. The
/// crate (like PyTorch and Zeiler's Algorithm 1) has a single `eps` for both;
/// `adadelta_two_eps_reference_equals_crate` checks that this reference, with
/// `eps_num = eps_den`, reproduces the crate bit for bit, so that its only
/// difference is the second constant. Operation order follows the crate.
struct TwoEpsAdadelta {
    lr: f64,
    rho: f64,
    eps_num: f64,
    eps_den: f64,
    square_avg: DVector<f64>,
    acc_delta: DVector<f64>,
}

impl TwoEpsAdadelta {
    fn new(n: usize, lr: f64, rho: f64, eps_num: f64, eps_den: f64) -> Self {
        TwoEpsAdadelta {
            lr,
            rho,
            eps_num,
            eps_den,
            square_avg: DVector::zeros(n),
            acc_delta: DVector::zeros(n),
        }
    }

    fn step(&mut self, x: &mut DVector<f64>, g: &DVector<f64>) {
        for i in 0..x.len() {
            let v = ema_sq(self.square_avg[i], g[i], self.rho);
            let delta =
                (self.acc_delta[i] + self.eps_num).sqrt() / (v + self.eps_den).sqrt() * g[i];
            self.square_avg[i] = v;
            self.acc_delta[i] = ema_sq(self.acc_delta[i], delta, self.rho);
            x[i] = (-self.lr).mul_add(delta, x[i]);
        }
    }
}

/// A quadratic `x'Ax/2 - b'x` in dimension `n`, `A` positive definite with
/// condition number 10, `b` from `seed`.
fn quadratic(n: usize, seed: u64) -> Quadratic {
    let a = if n == 1 {
        DMatrix::from_element(1, 1, 3.0)
    } else {
        Quadratic::ill_conditioned(n, 10.0, seed)
            .unwrap()
            .a()
            .clone()
    };
    let mut rng = SplitMix64::new(seed ^ 0x5ca1e);
    let b = DVector::from_fn(n, |_, _| rng.uniform(-1.0, 1.0));
    Quadratic::new(a, b).unwrap()
}

// ---- adadelta-units -------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// Units invariance with the epsilons scaled: the crate's AdaDelta on `f` from
    /// `x0`, and the two-eps reference on `f2(y) = f(y/c)` from `y0 = c x0` with
    /// `eps_num = c^2 eps` and `eps_den = eps / c^2`, satisfy `y_t = c x_t` bit for
    /// bit (c = 2^k, k in [-20, 20]). The gradient of `f2` at `y = c x` is
    /// `grad f(x) / c`, computed here as `grad f(y / c) / c`: `y / c = x` exactly.
    // claim: adadelta-units
    #[test]
    fn adadelta_units_exact_with_scaled_epsilons(
        seed in any::<u64>(),
        n in 1usize..4,
        steps in 1usize..60,
        k in -20i32..=20,
        lr in 1e-2f64..2.0,
        rho in 0.0f64..0.999,
        eps_exp in -10.0f64..-2.0,
    ) {
        let f = quadratic(n, seed);
        let c = 2f64.powi(k);
        let eps = 10f64.powf(eps_exp);
        let mut crate_opt = Adadelta::new(AdadeltaConfig { lr, rho, eps, ..AdadeltaConfig::default() }).unwrap();
        let mut reference = TwoEpsAdadelta::new(n, lr, rho, c * c * eps, eps / (c * c));
        let mut x = DVector::from_fn(n, |i, _| 2.0 - i as f64);
        let mut y = &x * c;
        for _ in 0..steps {
            let g = f.gradient(&x);
            let g2 = f.gradient(&(&y / c)) / c;
            crate_opt.step(&mut x, &g).unwrap();
            reference.step(&mut y, &g2);
            prop_assert_eq!(bits(&(&x * c)), bits(&y));
        }
    }

    /// The reference is AdaDelta: with `eps_num = eps_den = eps` it reproduces the
    /// crate's iterates and buffers bit for bit.
    // claim: adadelta-units
    #[test]
    fn adadelta_two_eps_reference_equals_crate(
        seed in any::<u64>(),
        n in 1usize..5,
        steps in 1usize..100,
        lr in 1e-2f64..2.0,
        rho in 0.0f64..1.0,
        eps_exp in -10.0f64..-2.0,
    ) {
        let eps = 10f64.powf(eps_exp);
        let mut crate_opt = Adadelta::new(AdadeltaConfig { lr, rho, eps, ..AdadeltaConfig::default() }).unwrap();
        let mut reference = TwoEpsAdadelta::new(n, lr, rho, eps, eps);
        let mut x = DVector::zeros(n);
        let mut y = DVector::zeros(n);
        for g in nonzero_gradients(seed, n, steps) {
            crate_opt.step(&mut x, &g).unwrap();
            reference.step(&mut y, &g);
            prop_assert_eq!(bits(&x), bits(&y));
            let s = crate_opt.state().unwrap();
            prop_assert_eq!(bits(&s.square_avg), bits(&reference.square_avg));
            prop_assert_eq!(bits(&s.acc_delta), bits(&reference.acc_delta));
        }
    }
}

/// With one shared eps (the crate, PyTorch, Zeiler's Algorithm 1) the units
/// argument fails. `f(x) = 3x^2/2` from `x0 = 1`, and the same problem in units
/// 1024 times smaller, `y = 1024 x`, with PyTorch's defaults (`eps = 1e-6`,
/// `rho = 0.9`). The first step on `f` is
/// `sqrt(1e-6) / sqrt(0.9 + 1e-6) * 3 = 3.16e-3`; on `f2` the gradient is
/// `3/1024`, the step `sqrt(1e-6) / sqrt(0.1 (3/1024)^2 + 1e-6) * 3/1024 =
/// 2.15e-3` in y, that is `2.1e-6` in x: 1500 times smaller than the step on `f`.
/// The gap persists: after 100 steps `x` has moved by 0.35 and `y/1024` by
/// 2.5e-4.
// claim: adadelta-units
#[test]
fn adadelta_one_eps_is_not_unit_invariant() {
    let f = Quadratic::new(DMatrix::from_element(1, 1, 3.0), DVector::zeros(1)).unwrap();
    let c = 1024.0;
    let mut a = Adadelta::new(AdadeltaConfig::default()).unwrap();
    let mut b = Adadelta::new(AdadeltaConfig::default()).unwrap();
    let mut x = DVector::from_element(1, 1.0);
    let mut y = DVector::from_element(1, c);
    for t in 1..=100 {
        let g = f.gradient(&x);
        let g2 = f.gradient(&(&y / c)) / c;
        a.step(&mut x, &g).unwrap();
        b.step(&mut y, &g2).unwrap();
        if t == 1 {
            let (dx, dy) = (1.0 - x[0], 1.0 - y[0] / c);
            eprintln!("first step: x moved {dx:.3e}, y/c moved {dy:.3e}");
            assert!(dx > 1000.0 * dy, "first steps {dx} and {dy}");
        }
    }
    let (dx, dy) = (1.0 - x[0], 1.0 - y[0] / c);
    eprintln!("after 100 steps: x moved {dx:.3e}, y/c moved {dy:.3e}");
    assert!(dx > 100.0 * dy);
}

// ---- update-units-table -------------------------------------------------------

/// Under `y = c x` (gradients `g / c`, Hessian `H / c^2`), from corresponding
/// points and histories, each method's update in y is `k` times its update in x,
/// bit for bit for `c = 2^j`:
///
/// | method | k |
/// |---|---|
/// | SGD, SGD with momentum, Nesterov | `1/c` |
/// | AdaGrad, RMSprop, Adam (eps = 0) | `1` |
/// | Newton, AdaDelta (eps scaled as in `adadelta-units`) | `c` |
///
/// Only the last row carries the units of the parameter. Newton uses the crate's
/// `Newton::step` on the quadratic and on its rescaled copy
/// `y'(A/c^2)y/2 - (b/c)'y`; AdaDelta uses the two-eps reference above.
// claim: update-units-table
#[test]
fn update_units_table() {
    let n = 3;
    let history = nonzero_gradients(11, n, 50);
    for j in [-12, -3, 5, 10] {
        let c = 2f64.powi(j);
        let first_order = |name: &str, k: f64, make: &dyn Fn() -> Box<dyn Optimizer>| {
            let (mut a, mut b) = (make(), make());
            for (t, g) in history.iter().enumerate() {
                let ua = update(&mut *a, g);
                let ub = update(&mut *b, &(g / c));
                assert_eq!(
                    bits(&(&ua * k)),
                    bits(&ub),
                    "{name}, c = 2^{j}, step {}",
                    t + 1
                );
            }
        };
        let sgd = |momentum: f64, nesterov: bool| {
            move || -> Box<dyn Optimizer> {
                Box::new(
                    Sgd::new(SgdConfig {
                        lr: 0.1,
                        momentum,
                        nesterov,
                        ..SgdConfig::default()
                    })
                    .unwrap(),
                )
            }
        };
        first_order("SGD", 1.0 / c, &sgd(0.0, false));
        first_order("SGD momentum", 1.0 / c, &sgd(0.9, false));
        first_order("Nesterov", 1.0 / c, &sgd(0.9, true));
        first_order("AdaGrad", 1.0, &|| {
            Box::new(
                Adagrad::new(AdagradConfig {
                    eps: 0.0,
                    ..AdagradConfig::default()
                })
                .unwrap(),
            )
        });
        first_order("RMSprop", 1.0, &|| {
            Box::new(
                RmsProp::new(RmsPropConfig {
                    eps: 0.0,
                    ..RmsPropConfig::default()
                })
                .unwrap(),
            )
        });
        first_order("Adam", 1.0, &|| {
            Box::new(
                Adam::new(AdamConfig {
                    eps: 0.0,
                    ..AdamConfig::default()
                })
                .unwrap(),
            )
        });

        // Newton on a quadratic and on its rescaled copy: one step from
        // corresponding points lands on corresponding points.
        let f = quadratic(n, 3);
        let f2 = Quadratic::new(f.a() / (c * c), f.b() / c).unwrap();
        let newton = Newton::new(NewtonConfig::default()).unwrap();
        let x0 = DVector::from_vec(vec![1.0, -2.0, 0.5]);
        let (mut x, mut y) = (x0.clone(), &x0 * c);
        newton.step(&f, &mut x).unwrap();
        newton.step(&f2, &mut y).unwrap();
        assert_eq!(
            bits(&((&x - &x0) * c)),
            bits(&(&y - &x0 * c)),
            "Newton, c = 2^{j}"
        );

        // AdaDelta with scaled epsilons, from a zero parameter each step.
        let (eps, lr, rho) = (1e-6, 1.0, 0.9);
        let mut a = TwoEpsAdadelta::new(n, lr, rho, eps, eps);
        let mut b = TwoEpsAdadelta::new(n, lr, rho, c * c * eps, eps / (c * c));
        for (t, g) in history.iter().enumerate() {
            let (mut ua, mut ub) = (DVector::zeros(n), DVector::zeros(n));
            a.step(&mut ua, g);
            b.step(&mut ub, &(g / c));
            assert_eq!(
                bits(&(&ua * c)),
                bits(&ub),
                "AdaDelta, c = 2^{j}, step {}",
                t + 1
            );
        }
    }
}

// ---- adadelta-first-step --------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// From zero state, AdaDelta's first update is
    /// `-lr sqrt(eps) / sqrt((1 - rho) g^2 + eps) g`, whatever `g`: its size never
    /// exceeds `lr sqrt(eps / (1 - rho))`, the limit as `|g|` grows. Tolerance: the
    /// crate evaluates `-lr (q g)`, the closed form `(-lr q) g`, with the same
    /// `q = sqrt(eps) / sqrt((1 - rho) g g + eps)`; two final roundings of `eps/2`
    /// on each side, so they differ by at most `2 eps |u|`. The bound
    /// `lr sqrt(eps/(1 - rho))` holds for the computed update up to its `5`
    /// roundings: a relative `3 eps` margin.
    // claim: adadelta-first-step
    #[test]
    fn adadelta_first_step_closed_form(
        g in prop_oneof![-1e6f64..-1e-6, 1e-6f64..1e6],
        lr in 1e-3f64..10.0,
        rho in 0.0f64..0.999,
        eps_exp in -12.0f64..0.0,
    ) {
        let eps = 10f64.powf(eps_exp);
        let mut opt = Adadelta::new(AdadeltaConfig { lr, rho, eps, ..AdadeltaConfig::default() }).unwrap();
        let u = update(&mut opt, &DVector::from_element(1, g))[0];
        let closed = -lr * (eps.sqrt() / ((1.0 - rho) * g * g + eps).sqrt()) * g;
        prop_assert!((u - closed).abs() <= 2.0 * EPS * closed.abs(), "{} vs {}", u, closed);
        prop_assert!(u.abs() <= lr * (eps / (1.0 - rho)).sqrt() * (1.0 + 3.0 * EPS));
        prop_assert!(u != 0.0 && u.signum() == -g.signum());
    }
}

/// Eps alone starts the method: with `eps = 0` the numerator `sqrt(u)` starts at
/// 0, every update is 0 and stays 0 (`u` remains 0), and the parameters never
/// move, whatever the gradients.
// claim: adadelta-first-step
#[test]
fn adadelta_without_eps_never_moves() {
    let mut opt = Adadelta::new(AdadeltaConfig {
        eps: 0.0,
        ..AdadeltaConfig::default()
    })
    .unwrap();
    let x0 = DVector::from_vec(vec![1.0, -2.0, 3.0]);
    let mut x = x0.clone();
    for g in nonzero_gradients(5, 3, 200) {
        opt.step(&mut x, &g).unwrap();
    }
    assert_eq!(bits(&x), bits(&x0));
    assert!(opt.state().unwrap().acc_delta.iter().all(|&u| u == 0.0));
}

// ---- seed-hamiltonian -----------------------------------------------------------

/// The Hamiltonian of the heavy ball on `f`: `H(x, p) = |p|^2 / 2 + f(x)`, on
/// the phase space `(x, p)` of dimension `2n`. An energy, a scalar function.
struct Hamiltonian<'a> {
    f: &'a Quadratic,
}

impl Objective for Hamiltonian<'_> {
    fn dim(&self) -> usize {
        2 * self.f.dim()
    }

    fn eval<D: DualNum<Primitive = f64>>(&self, z: &DVector<D>) -> D {
        let n = self.f.dim();
        let x = DVector::from_fn(n, |i, _| z[i].clone());
        let mut energy = self.f.eval(&x);
        for i in 0..n {
            energy += z[n + i].clone() * z[n + i].clone() * 0.5;
        }
        energy
    }
}

/// The seed calls the diagonal curvature a "diagonal approximation of the
/// Hamiltonian". On `f(x) = x^2 / 2` at `x = 2`: the Hamiltonian of the heavy
/// ball at rest there, `H(2, 0) = f(2) = 2`, is an energy (a number with the units
/// of `f`), not a curvature: dividing the gradient by it gives the step `-1`,
/// to `x = 1`, while dividing by the Hessian `f'' = 1` gives `-2`, to the
/// minimizer `0`. The phase-space Hessian of `H` is `diag(f'', 1)`: its `x` block
/// is the Hessian of `f`, its `p` block the unit mass, nothing to do with
/// curvature.
// claim: seed-hamiltonian
#[test]
fn seed_hamiltonian_counterexample() {
    let f = Quadratic::new(DMatrix::from_element(1, 1, 1.0), DVector::zeros(1)).unwrap();
    let x = DVector::from_element(1, 2.0);
    let h = Hamiltonian { f: &f };
    let z = DVector::from_vec(vec![2.0, 0.0]);
    let (energy, _, phase_hessian) = h.value_gradient_hessian(&z);
    let (_, g, hess) = f.value_gradient_hessian(&x);
    assert_eq!(energy, 2.0);
    assert_eq!(x[0] - g[0] / energy, 1.0, "dividing by the energy misses");
    assert_eq!(x[0] - g[0] / hess[(0, 0)], 0.0, "dividing by f'' lands");
    assert_eq!(
        phase_hessian,
        DMatrix::from_row_slice(2, 2, &[1.0, 0.0, 0.0, 1.0])
    );
    assert_eq!(phase_hessian[(0, 0)], hess[(0, 0)]);
}

proptest! {
    #![proptest_config(config())]

    /// The corrected statement: the diagonal curvature of Becker and LeCun is the
    /// diagonal of the Hessian. On a separable quadratic `sum_i h_i x_i^2 / 2 -
    /// b_i x_i` the exact Hessian (num-dual) is `diag(h)`, and the Becker-LeCun
    /// step with `mu = 0`, `lr = 1` lands on the minimizer `b_i / h_i` in one step.
    /// With `h_i = 2^k` the division is exact and `x - (h x - b)/h` carries two
    /// roundings: `|x1 - b/h| <= eps (|x0| + |b/h|)`.
    ///
    /// RMSprop's `sqrt(v)` is no curvature estimate: its first value is
    /// `sqrt(1 - alpha) |g|`, which doubles when the start moves twice as far from
    /// the minimizer, while the Hessian stays `h`.
    // claim: seed-hamiltonian
    #[test]
    fn diagonal_curvature_is_the_hessian_diagonal(
        seed in any::<u64>(),
        n in 1usize..6,
        ks in prop::collection::vec(-10i32..=10, 6),
    ) {
        let h = DVector::from_fn(n, |i, _| 2f64.powi(ks[i]));
        let mut rng = SplitMix64::new(seed);
        let b = DVector::from_fn(n, |_, _| rng.uniform(-4.0, 4.0));
        let x0 = DVector::from_fn(n, |_, _| rng.uniform(-4.0, 4.0));
        let f = Quadratic::new(DMatrix::from_diagonal(&h), b.clone()).unwrap();
        let hess = f.hessian(&x0);
        prop_assert_eq!(&hess, &DMatrix::from_diagonal(&h));
        let step = BeckerLeCun::new(BeckerLeCunConfig { lr: 1.0, mu: 0.0 }).unwrap();
        let mut x = x0.clone();
        step.step(&f, &mut x).unwrap();
        for i in 0..n {
            let star = b[i] / h[i];
            prop_assert!((x[i] - star).abs() <= EPS * (x0[i].abs() + star.abs()), "{} vs {}", x[i], star);
        }

        let rms_root = |start: &DVector<f64>| {
            let mut opt = RmsProp::new(RmsPropConfig::default()).unwrap();
            let mut x = start.clone();
            opt.step(&mut x, &f.gradient(start)).unwrap();
            opt.state().unwrap().square_avg.map(f64::sqrt)
        };
        let xstar = DVector::from_fn(n, |i, _| b[i] / h[i]);
        let near = &xstar + DVector::from_element(n, 1.0);
        let far = &xstar + DVector::from_element(n, 2.0);
        let (r1, r2) = (rms_root(&near), rms_root(&far));
        for i in 0..n {
            // Gradients h_i and 2 h_i, up to rounding: x* + 1 rounds by at most
            // eps |x*| <= 2^12 eps, and the gradient h x - b by a few eps
            // (|h x| + |b|) <= 2^5 eps h (2^12 + 1); relative to h, each computed
            // gradient is within 2^18 eps = 6e-11, and the ratio of roots within
            // 2^19 eps = 1.2e-10. The 1e-9 below leaves a factor 8.
            prop_assert!((r2[i] / r1[i] - 2.0).abs() < 1e-9);
            prop_assert_eq!(f.hessian(&near)[(i, i)], f.hessian(&far)[(i, i)]);
        }
    }
}
