//! Adafactor's factored second moment (claim `adafactor-factored-keeps-row-and-column-sums`),
//! its scale invariance in the row factor (claim `adafactor-row-scale-cancels`),
//! and its refusals.

use descent::optim::{Adafactor, AdafactorConfig, Optimizer};
use nalgebra::DVector;

const ROWS: usize = 3;
const COLS: usize = 4;

fn grad(t: usize) -> DVector<f64> {
    DVector::from_fn(ROWS * COLS, |k, _| {
        let (i, j) = (k / COLS, k % COLS);
        ((1 + i) as f64) * (((k * 7 + t * 3) as f64).sin() + 0.1 * j as f64)
    })
}

fn theta0() -> DVector<f64> {
    DVector::from_fn(ROWS * COLS, |k, _| (k as f64 * 0.37).cos())
}

// claim: adafactor-factored-keeps-row-and-column-sums
/// After every step, the factored estimate `V = R C^T / mean(R)` has the row
/// sums and the column sums of the full moving average `M` of `g^2` (kept here
/// with the same weights `w_t = t^c`), though `V != M`.
#[test]
fn factored_estimate_keeps_row_and_column_sums() {
    let config = AdafactorConfig {
        eps: (Some(0.0), 1e-3),
        ..AdafactorConfig::default()
    };
    let mut opt = Adafactor::new(config, Some([ROWS, COLS])).unwrap();
    let mut theta = theta0();
    let mut full = [0.0; ROWS * COLS];
    let mut differs = false;
    for t in 1..=30 {
        let g = grad(t);
        opt.step(&mut theta, &g).unwrap();
        let w = (t as f64).powf(config.beta2_decay);
        for k in 0..ROWS * COLS {
            full[k] += w * (g[k] * g[k] - full[k]);
        }
        let v = opt.second_moment().unwrap();
        // Each sum is of at most 4 terms, each within a few roundings of the
        // other side's (R and M are both lerps of the same g^2 with the same w):
        // 1e-13 relative is ~450 ulp, ample for 30 steps of ~4 roundings each.
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-13 * a.abs().max(b.abs());
        for i in 0..ROWS {
            let sv: f64 = (0..COLS).map(|j| v[i * COLS + j]).sum();
            let sm: f64 = (0..COLS).map(|j| full[i * COLS + j]).sum();
            assert!(close(sv, sm), "step {t}, row {i}: {sv} vs {sm}");
        }
        for j in 0..COLS {
            let sv: f64 = (0..ROWS).map(|i| v[i * COLS + j]).sum();
            let sm: f64 = (0..ROWS).map(|i| full[i * COLS + j]).sum();
            assert!(close(sv, sm), "step {t}, column {j}: {sv} vs {sm}");
        }
        differs |= (0..ROWS * COLS).any(|k| !close(v[k], full[k]));
    }
    assert!(differs, "V is only a rank-one stand-in for M");
}

// claim: adafactor-row-scale-cancels
/// Scaling every row average by the same factor leaves `V` unchanged (while
/// the mean row entry stays above `eps1`): Adafactor's steps do not depend on
/// whether `R` holds row means or row sums.
#[test]
fn scaling_the_row_factor_cancels() {
    let config = AdafactorConfig::default();
    let mut opt = Adafactor::new(config, Some([ROWS, COLS])).unwrap();
    let mut theta = theta0();
    for t in 1..=5 {
        opt.step(&mut theta, &grad(t)).unwrap();
    }
    let s = opt.state().unwrap();
    let (r, c) = (s.row_var.clone().unwrap(), s.col_var.clone().unwrap());
    let estimate = |r: &DVector<f64>| -> Vec<f64> {
        let mean = r.sum() / ROWS as f64;
        (0..ROWS * COLS)
            .map(|k| r[k / COLS] * c[k % COLS] / mean)
            .collect()
    };
    let v = opt.second_moment().unwrap();
    // Scaling by a power of two is exact, so the two estimates agree bit for bit.
    let scaled = estimate(&(r * 4.0));
    assert_eq!(v, scaled);
}

/// A step whose square would overflow is refused, and nothing changes.
#[test]
fn refused_steps_change_nothing() {
    for shape in [Some([ROWS, COLS]), None] {
        let mut opt = Adafactor::new(AdafactorConfig::default(), shape).unwrap();
        let mut theta = theta0();
        // A refused first step leaves no state.
        let huge = DVector::from_element(ROWS * COLS, 1e300);
        let before = theta.clone();
        assert!(opt.step(&mut theta, &huge).is_err());
        assert_eq!(theta, before);
        assert!(opt.state().is_none());
        opt.step(&mut theta, &grad(1)).unwrap();
        let (snapshot, before) = (opt.clone(), theta.clone());
        for bad in [huge.clone(), DVector::from_element(ROWS * COLS, f64::NAN)] {
            assert!(opt.step(&mut theta, &bad).is_err());
            assert_eq!(opt, snapshot);
            assert_eq!(theta.as_slice(), before.as_slice());
        }
        let mut short = DVector::from_element(5, 1.0);
        assert!(
            opt.step(&mut short, &DVector::from_element(5, 1.0))
                .is_err()
        );
        assert_eq!(opt, snapshot);
    }
}

/// Every hyperparameter outside PyTorch's range is refused, naming it.
#[test]
fn hyperparameters_out_of_range_are_named() {
    let d = AdafactorConfig::default();
    let bad = [
        ("lr", AdafactorConfig { lr: -1.0, ..d }),
        ("lr", AdafactorConfig { lr: f64::NAN, ..d }),
        (
            "beta2_decay",
            AdafactorConfig {
                beta2_decay: 0.5,
                ..d
            },
        ),
        (
            "eps[0]",
            AdafactorConfig {
                eps: (Some(-1e-3), 1e-3),
                ..d
            },
        ),
        (
            "eps[1]",
            AdafactorConfig {
                eps: (None, -1.0),
                ..d
            },
        ),
        ("d", AdafactorConfig { d: 0.5, ..d }),
        (
            "weight_decay",
            AdafactorConfig {
                weight_decay: -0.1,
                ..d
            },
        ),
    ];
    for (param, config) in bad {
        let e = Adafactor::new(config, None).unwrap_err();
        assert_eq!(e.param, param, "{config:?}");
    }
    assert!(Adafactor::new(d, None).is_ok());
}

// claim: adafactor-docs-decay-overwritten
/// PyTorch's documented box decays `theta_t <- theta_{t-1} - lr lambda
/// theta_{t-1}` and then sets `theta_t <- theta_{t-1} - alpha_t U_t`, from
/// `theta_{t-1}` again, which discards the decay. The code (and the fixture case
/// `weight_decay`, matched by `adafactor_matches_pytorch`) keeps both: the step
/// with decay differs from the box's literal step, which equals the step
/// without decay, by `-lr lambda theta_{t-1}`.
#[test]
fn the_documented_box_drops_the_decay() {
    let (lr, lambda) = (0.01, 0.1);
    let theta0 = theta0();
    let g = grad(1);
    let mut with = Adafactor::new(
        AdafactorConfig {
            lr,
            weight_decay: lambda,
            ..AdafactorConfig::default()
        },
        Some([ROWS, COLS]),
    )
    .unwrap();
    let mut literal = Adafactor::new(
        AdafactorConfig {
            lr,
            ..AdafactorConfig::default()
        },
        Some([ROWS, COLS]),
    )
    .unwrap();
    let (mut a, mut b) = (theta0.clone(), theta0.clone());
    with.step(&mut a, &g).unwrap();
    literal.step(&mut b, &g).unwrap();
    for k in 0..ROWS * COLS {
        let expected = -lr * lambda * theta0[k];
        // Each side rounds a handful of times on numbers below 2 in size:
        // 1e-15 absolute covers them.
        assert!(
            ((a[k] - b[k]) - expected).abs() <= 1e-15,
            "entry {k}: {} vs {expected}",
            a[k] - b[k]
        );
        assert!(expected.abs() > 1e-5, "the decay is visible");
    }
}

// claim: exercise-adafactor-3
/// Exercise 3 of the Adafactor chapter: `beta2_t = 1 - t^-0.8` is 0 at t = 1,
/// about 0.842 at t = 10 and 0.996 at t = 1000, a memory of about 251 steps.
#[test]
fn exercise_adafactor_3_beta2_schedule() {
    let beta2 = |t: f64| 1.0 - t.powf(AdafactorConfig::default().beta2_decay);
    assert_eq!(beta2(1.0), 0.0);
    // The answers are rounded to three digits in the text: 5e-4 is their rounding.
    assert!((beta2(10.0) - 0.842).abs() < 5e-4, "{}", beta2(10.0));
    assert!((beta2(1000.0) - 0.996).abs() < 5e-4, "{}", beta2(1000.0));
    let memory = 1.0 / (1.0 - beta2(1000.0));
    assert!((memory - 251.0).abs() < 0.5, "{memory}");
    // The optimizer's first average is g^2 itself (weight 1 at t = 1).
    let mut opt = Adafactor::new(AdafactorConfig::default(), None).unwrap();
    let mut theta = DVector::from_vec(vec![1.0, -2.0]);
    opt.step(&mut theta, &DVector::from_vec(vec![3.0, 0.5]))
        .unwrap();
    assert_eq!(opt.second_moment().unwrap(), vec![9.0, 0.25]);
}
