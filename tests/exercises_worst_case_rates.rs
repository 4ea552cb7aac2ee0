//! The numeric answers of the exercises of the chapter "Worst-case rates,
//! computed" (`book/src/worst-case-rates.md`), checked with the crate's
//! performance estimation and its `Sgd`.
//!
//! Rounding model: `u = 2^-53`; every basic operation is exact up to a factor
//! `(1 + d)`, `|d| <= u`. The performance-estimation values come with the
//! solver's own accuracy (`WorstCase::accuracy`, the duality gap it certifies).

use descent::optim::{Optimizer, Sgd, SgdConfig};
use descent::pep::{FunctionClass, Measure, Method, WorstCase, worst_case};
use nalgebra::DVector;

const U: f64 = f64::EPSILON / 2.0;

fn gd_worst_case(h: f64, n: usize) -> WorstCase {
    let class = FunctionClass::new(1.0, 0.0).expect("valid class");
    worst_case(&class, &Method::Gd { h }, n, Measure::FunctionValue).expect("solved")
}

/// The Huber-shaped loss of exercise 1: `a|t| - a^2/(2 l)` outside `|t| < a/l`,
/// `l t^2 / 2` inside; convex and `l`-smooth, minimum 0 at 0.
fn huber(t: f64, a: f64, l: f64) -> (f64, f64) {
    if t.abs() >= a / l {
        (a * t.abs() - a * a / (2.0 * l), a * t.signum())
    } else {
        (0.5 * l * t * t, l * t)
    }
}

// claim: exercise-worst-case-rates-1
#[test]
fn one_gradient_step_worst_case_is_l_r_squared_over_6() {
    let (l, r) = (1.0, 1.0);
    // The crate's performance estimation: l R^2 / (4N + 2) = 1/6 at N = 1.
    let wc = gd_worst_case(1.0, 1);
    assert!(
        (wc.value - 1.0 / 6.0).abs() <= wc.accuracy,
        "PEP {} (accuracy {:e})",
        wc.value,
        wc.accuracy
    );
    assert!(wc.accuracy < 1e-7, "{:e}", wc.accuracy);
    // The loss that attains it: slope a = l R / 3. One step of the crate's SGD
    // with eta = 1/l from theta_0 = R moves by a/l = R/3 to 2R/3, still on the
    // linear part, where the loss is l R^2 / 6.
    let a = l * r / 3.0;
    let mut opt = Sgd::new(SgdConfig {
        lr: 1.0 / l,
        ..SgdConfig::default()
    })
    .unwrap();
    let mut theta = DVector::from_element(1, r);
    let (_, g) = huber(theta[0], a, l);
    opt.step(&mut theta, &DVector::from_element(1, g)).unwrap();
    // a = 1/3 rounds (u), the step rounds (u): theta_1 within 2u of 2/3.
    assert!((theta[0] - 2.0 / 3.0).abs() <= 2.0 * U);
    assert!(theta[0].abs() >= a / l);
    let (value, _) = huber(theta[0], a, l);
    // a |t| and a^2/(2l) each within 3u of 1/3 and 1/18 (and theta's 2u), the
    // difference once more: within 8u of 1/6.
    assert!((value - l * r * r / 6.0).abs() <= 8.0 * U, "{value}");
    // And no convex l-smooth loss does worse: the PEP value is the bound.
    assert!(value <= wc.value + wc.accuracy + 8.0 * U);
}

// claim: exercise-worst-case-rates-2
#[test]
fn at_h_one_and_a_half_the_two_terms_tie() {
    // 1/(2Nh + 1) and (1 - h)^(2N) at N = 1, h = 1.5: both 1/4 (exactly in
    // binary), so the worst case is l R^2 / 8.
    let (h, n) = (1.5f64, 1);
    assert_eq!(1.0 / (2.0 * h + 1.0), 0.25);
    assert_eq!((1.0 - h).powi(2 * n), 0.25);
    let wc = gd_worst_case(h, n as usize);
    assert!(
        (wc.value - 0.125).abs() <= wc.accuracy,
        "PEP {} (accuracy {:e})",
        wc.value,
        wc.accuracy
    );
    // Past the tie the quadratic term wins and tends to 1 as h -> 2: the worst
    // case tends to l R^2 / 2, the whole initial gap.
    let mut last = 0.125;
    for h in [1.7, 1.9, 1.99] {
        let wc = gd_worst_case(h, 1);
        let quadratic = 0.5 * (1.0 - h) * (1.0 - h);
        assert!(quadratic > 0.5 / (2.0 * h + 1.0));
        assert!((wc.value - quadratic).abs() <= wc.accuracy, "h = {h}");
        assert!(wc.value > last);
        last = wc.value;
    }
    assert!(last > 0.49);
    // On l theta^2 / 2 a step of 2/l jumps to -theta_0 and back, exactly.
    let mut opt = Sgd::new(SgdConfig {
        lr: 2.0,
        ..SgdConfig::default()
    })
    .unwrap();
    let mut theta = DVector::from_element(1, 0.75);
    for t in 1..=10 {
        let g = theta.clone();
        opt.step(&mut theta, &g).unwrap();
        assert_eq!(theta[0], if t % 2 == 1 { -0.75 } else { 0.75 });
    }
}
