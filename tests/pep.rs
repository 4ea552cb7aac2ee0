//! Performance estimation: the crate's own SDP against closed-form worst cases,
//! the heavy-ball counterexample, the worst-case function, the command line.
//!
//! Every comparison with a closed form uses the accuracy the solve reports
//! (`WorstCase::accuracy`: the primal-dual gap plus the recomputed residuals times
//! the sizes of the solutions), which bounds the distance from the returned value
//! to the optimum of the SDP.

use std::process::Command;

use descent::optim::{Optimizer, Sgd, SgdConfig};
use descent::pep::method::ogm_theta;
use descent::pep::reconstruct::{Interpolant, Realization};
use descent::pep::{FunctionClass, Measure, Method, NesterovMomentum, WorstCase, worst_case};
use nalgebra::{DVector, Matrix2};

fn solve(l: f64, mu: f64, method: Method, n: usize, measure: Measure) -> WorstCase {
    let class = FunctionClass::new(l, mu).expect("valid class");
    worst_case(&class, &method, n, measure).expect("solved to optimality")
}

fn assert_close(wc: &WorstCase, exact: f64, what: &str) {
    assert!(
        (wc.value - exact).abs() <= wc.accuracy,
        "{what}: PEP {} vs closed form {exact}, reported accuracy {:e}",
        wc.value,
        wc.accuracy
    );
}

// claim: pep-gd-tight-rate
#[test]
fn gd_worst_case_is_l_over_4n_plus_2() {
    for n in 1..=10 {
        let wc = solve(1.0, 0.0, Method::Gd { h: 1.0 }, n, Measure::FunctionValue);
        let exact = 1.0 / (4.0 * n as f64 + 2.0);
        assert_close(&wc, exact, &format!("N = {n}"));
        // The certificate: nonnegative weights on the conditions, and the weight of
        // |x_0 - x*|^2 <= R^2 is the proved bound itself.
        assert!(wc.multipliers.iter().all(|m| m.2 >= 0.0), "N = {n}");
        assert!(
            (wc.initial_multiplier - exact).abs() <= wc.accuracy,
            "N = {n}: tau = {}",
            wc.initial_multiplier
        );
    }
    // The worst case scales as L R^2.
    let wc = solve(4.0, 0.0, Method::Gd { h: 1.0 }, 3, Measure::FunctionValue);
    assert_close(&wc, 4.0 / 14.0, "L = 4, N = 3");
}

// claim: pep-gd-step-size-rate
#[test]
fn gd_worst_case_over_step_sizes() {
    for &h in &[0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 1.9] {
        for &n in &[1usize, 2, 4] {
            let wc = solve(1.0, 0.0, Method::Gd { h }, n, Measure::FunctionValue);
            let nf = n as f64;
            let exact = 0.5 * f64::max(1.0 / (2.0 * nf * h + 1.0), (1.0 - h).powi(2 * n as i32));
            assert_close(&wc, exact, &format!("h = {h}, N = {n}"));
        }
    }
}

// claim: pep-ogm-rate
#[test]
fn ogm_attains_l_over_2_theta_squared_and_beats_gd() {
    let mut previous_gain = 1.0;
    for n in 1..=10 {
        let theta = ogm_theta(n)[n];
        let ogm = solve(1.0, 0.0, Method::Ogm, n, Measure::FunctionValue);
        assert_close(&ogm, 1.0 / (2.0 * theta * theta), &format!("OGM, N = {n}"));
        let gd = solve(1.0, 0.0, Method::Gd { h: 1.0 }, n, Measure::FunctionValue);
        // The gain over gradient descent, with both worst cases pushed to the ends
        // of their accuracy intervals so that the comparison is certain.
        let gain = (gd.value - gd.accuracy) / (ogm.value + ogm.accuracy);
        assert!(
            gain > previous_gain,
            "N = {n}: gain {gain} after {previous_gain}"
        );
        previous_gain = gain;
    }
    // theta_N^2 >= (N+1)(N+1+sqrt 2)/2 makes the gain grow like N/2: at N = 10 the
    // closed forms give (2 theta_10^2)/(4*10+2) = 3.5...; the PEP agrees.
    assert!(previous_gain > 3.4, "gain at N = 10: {previous_gain}");
}

/// Heavy ball at the step and momentum optimal on quadratics with curvature in
/// [1, 25]: alpha = 4/(5+1)^2 = 1/9, beta = (4/6)^2 = 4/9.
const HB_L: f64 = 25.0;
const HB_MU: f64 = 1.0;

/// The largest `|x_N - x*|^2 / |x_0 - x*|^2` of heavy ball over the quadratics with
/// curvature in `[mu, L]`, started at rest (`x_{-1} = x_0`). Along an eigenvector
/// with curvature `lam` the error follows
/// `e_{k+1} = (1 + beta - alpha lam) e_k - beta e_{k-1}`, `e_{-1} = e_0 = 1`,
/// a polynomial of degree `N` in `lam`. Its maximum over a grid of spacing `delta`
/// is within a factor `1/(1 - N^2 delta/(L - mu))` of its maximum over the
/// interval (Markov's inequality `|p'| <= 2 N^2 max|p| / (L - mu)` over half a
/// spacing), so the value returned is an upper bound.
fn heavy_ball_quadratic_worst(alpha: f64, beta: f64, n: usize) -> f64 {
    let points = 20_001;
    let delta = (HB_L - HB_MU) / (points - 1) as f64;
    let mut grid_max = 0.0_f64;
    for k in 0..points {
        let lam = HB_MU + delta * k as f64;
        let (mut prev, mut e) = (1.0_f64, 1.0_f64);
        for _ in 0..n {
            let next = (1.0 + beta - alpha * lam) * e - beta * prev;
            prev = e;
            e = next;
        }
        grid_max = grid_max.max(e.abs());
    }
    let factor = 1.0 - (n * n) as f64 * delta / (HB_L - HB_MU);
    (grid_max / factor).powi(2)
}

// claim: pep-heavy-ball-not-globally-convergent
#[test]
fn heavy_ball_worst_case_grows_on_smooth_strongly_convex() {
    let class = FunctionClass::new(HB_L, HB_MU).expect("valid");
    let method = Method::heavy_ball_quadratic_optimal(&class).expect("mu > 0");
    let Method::HeavyBall { h, beta } = method else {
        panic!("heavy ball expected")
    };
    let alpha = h / HB_L;
    assert!((alpha - 1.0 / 9.0).abs() < 1e-15 && (beta - 4.0 / 9.0).abs() < 1e-15);
    let mut previous = 0.0;
    for &n in &[4usize, 6, 8] {
        let wc = solve(HB_L, HB_MU, method, n, Measure::Distance);
        let quad = heavy_ball_quadratic_worst(alpha, beta, n);
        // Over the class the worst case keeps growing and stays above R^2; over
        // the quadratics of the class it has fallen below R^2 by N = 8.
        assert!(
            wc.value - wc.accuracy > previous,
            "N = {n}: {} after {previous}",
            wc.value
        );
        assert!(wc.value - wc.accuracy > 1.0, "N = {n}: {}", wc.value);
        if n >= 8 {
            assert!(quad < 0.5, "N = {n}: quadratic worst case {quad}");
            assert!(wc.value - wc.accuracy > 20.0 * quad, "N = {n}");
        }
        previous = wc.value + wc.accuracy;
    }
}

// claim: exercise-worst-case-rates-3
#[test]
fn heavy_ball_first_step_worst_case_is_256_over_81() {
    let class = FunctionClass::new(HB_L, HB_MU).expect("valid");
    let method = Method::heavy_ball_quadratic_optimal(&class).expect("mu > 0");
    let wc = worst_case(&class, &method, 1, Measure::Distance).expect("solved");
    assert_close(&wc, 256.0 / 81.0, "heavy ball, N = 1");
}

/// The gradient of Lessard, Recht and Packard's piecewise quadratic (mu = 1, L =
/// 25, minimizer 0): `25x` below 1, `x + 24` on `[1, 2)`, `25x - 24` from 2.
fn lrp_gradient(x: f64) -> f64 {
    if x < 1.0 {
        25.0 * x
    } else if x < 2.0 {
        x + 24.0
    } else {
        25.0 * x - 24.0
    }
}

// claim: pep-heavy-ball-not-globally-convergent
#[test]
fn pytorch_momentum_sgd_cycles_on_the_lrp_function() {
    // PyTorch's form b <- beta b + g (b = g at the first step), x <- x - lr b is
    // heavy ball with alpha = lr and x_{-1} = x_0.
    let (alpha, beta) = (1.0 / 9.0, 4.0 / 9.0);
    let mut sgd = Sgd::new(SgdConfig {
        lr: alpha,
        momentum: beta,
        ..SgdConfig::default()
    })
    .expect("valid hyperparameters");
    let mut x = DVector::from_vec(vec![3.3]);
    let mut trace = Vec::new();
    for _ in 0..3000 {
        let g = DVector::from_vec(vec![lrp_gradient(x[0])]);
        sgd.step(&mut x, &g).expect("finite step");
        trace.push(x[0]);
    }
    // The 3-cycle p -> q -> r -> p with p, q < 1 and r >= 2 solves, from x_{k+1} =
    // x_k - alpha g(x_k) + beta (x_k - x_{k-1}) with g linear on each piece,
    // a 3x3 linear system; solve it and compare.
    let a1 = 1.0 + beta - 25.0 * alpha; // coefficient of x_k below 1 and from 2 on
    // q = a1 p - beta r;  r = a1 q - beta p;  p = a1 r + 24 alpha - beta q.
    let m = nalgebra::Matrix3::new(a1, -1.0, -beta, -beta, a1, -1.0, -1.0, -beta, a1);
    let rhs = nalgebra::Vector3::new(0.0, 0.0, -24.0 * alpha);
    let cycle = m.lu().solve(&rhs).expect("nonsingular");
    let (p, q, r) = (cycle[0], cycle[1], cycle[2]);
    assert!(p < 1.0 && q < 1.0 && r >= 2.0, "pieces: {p} {q} {r}");
    // The cycle attracts: the 3-step map's linear part has spectral radius rho < 1,
    // so after K cycles the error is rho^K times the first and rounding (a few ulps
    // of |x| <= 4 per step) adds at most 1e-14/(1 - rho).
    let step = |c: f64| Matrix2::new(1.0 + beta - alpha * c, -beta, 1.0, 0.0);
    let three = step(25.0) * step(25.0) * step(25.0);
    let rho = three
        .complex_eigenvalues()
        .iter()
        .map(|z| z.norm())
        .fold(0.0, f64::max);
    assert!(rho < 1.0, "rho = {rho}");
    let tol = 1e-14 / (1.0 - rho) + rho.powi(900) * 10.0;
    let last = &trace[trace.len() - 300..];
    for w in last.chunks_exact(3) {
        let mut found = false;
        for shift in 0..3 {
            let want = [[p, q, r], [q, r, p], [r, p, q]][shift];
            if (0..3).all(|i| (w[i] - want[i]).abs() <= tol) {
                found = true;
            }
        }
        assert!(
            found,
            "window {w:?} is not the cycle {p} {q} {r} (tol {tol:e})"
        );
    }
    // Never near the minimizer: the loss stays above the cycle's smallest value.
    assert!(last.iter().all(|x| x.abs() > 0.6));
}

/// Rebuilds a worst case as vectors, checks the interpolation conditions on
/// them, and runs the crate's SGD (no momentum, lr = h/L) on the interpolating
/// function from the worst-case start.
fn replay_worst_case(l: f64, mu: f64, h: f64, n: usize) {
    let class = FunctionClass::new(l, mu).expect("valid");
    let wc = worst_case(&class, &Method::Gd { h }, n, Measure::FunctionValue).expect("solved");
    let real = Realization::from_worst_case(&wc);
    // Interpolability of the realized data: the conditions hold up to the solver's
    // accuracy (plus the clipped eigenvalue, which moves inner products by at most
    // its size times |coefficients|^2 <= a few).
    let violation = class.max_violation(&real.triples()).max(0.0);
    let slack = wc.accuracy + 10.0 * real.clipped.abs();
    assert!(violation <= slack, "violation {violation:e} > {slack:e}");
    let f = Interpolant::new(&class, &real);

    // Points: x* first, then x_0, ..., x_{N-1}, then x_N.
    let mut x = real.x[1].clone();
    let mut sgd = Sgd::new(SgdConfig {
        lr: h / l,
        ..SgdConfig::default()
    })
    .expect("valid");
    // A gradient off by e per step moves GD by e h/L; GD's map is nonexpansive for
    // h <= 2 on convex L-smooth f, so errors add up over the steps. The conjugate of
    // the interpolant (less mu/2 |x|^2) is 1/(L - mu)-strongly convex, so a
    // violation v of the conditions, or a QP solved to within a gap eps, moves the
    // gradient by at most sqrt(2 (L - mu) v), respectively sqrt(2 (L - mu) eps).
    let mut tol = 0.0;
    for k in 0..n {
        let e = f.value_gradient(&x).expect("QP solved");
        let per_step = (2.0 * (l - mu) * slack).sqrt() + (2.0 * (l - mu) * e.gap).sqrt();
        // x is within tol of x_k; f is L-smooth, so that moves f by at most
        // |g_k| tol + L tol^2 / 2 (with |g_k| itself known to within L tol).
        let g_k = real.g[k + 1].norm() + l * tol;
        let f_tol = slack + e.gap + g_k * tol + 0.5 * l * tol * tol;
        assert!(
            (e.value - real.f[k + 1]).abs() <= f_tol,
            "f at x_{k}: {} vs {}, tolerance {f_tol:e}",
            e.value,
            real.f[k + 1]
        );
        sgd.step(&mut x, &e.gradient).expect("finite");
        tol += per_step * h / l;
        let err = (&x - &real.x[k + 2]).norm();
        assert!(err <= tol, "x_{} off by {err:e} > {tol:e}", k + 1);
    }
    if mu == 0.0 {
        interpolant_is_smooth_convex(l, &class, &f, &real);
    }
    let e = f.value_gradient(&x).expect("QP solved");
    // f is L-smooth and grad f(x_N) = g_N up to the tolerance: a position error d
    // moves f by at most |g_N| d + L d^2 / 2.
    let g_n = real.g[n + 1].norm() + tol * l;
    let moved = g_n * tol + 0.5 * l * tol * tol;
    assert!(
        (e.value - wc.value).abs() <= moved + slack + e.gap,
        "f(x_N) = {} vs worst case {}",
        e.value,
        wc.value
    );
}

/// The interpolant, sampled at the realized points and at points on a fixed
/// grid around them, satisfies the class's conditions (convex and L-smooth) up
/// to its evaluation error: a value off by at most `gap` and a gradient off by at
/// most `d = sqrt(2 L gap)` move each condition `f_j - f_i + <g_j, x_i - x_j> +
/// |g_i - g_j|^2/(2L)` by at most `2 gap + |x_i - x_j| d + (2 |g_i - g_j| d + 2 d^2)/(2L)`.
fn interpolant_is_smooth_convex(
    l: f64,
    class: &FunctionClass,
    f: &Interpolant,
    real: &Realization,
) {
    let dim = real.x[0].len();
    let mut samples: Vec<DVector<f64>> = real.x.clone();
    for k in 0..12 {
        // Fixed points spread over [-1.2, 1.2]^dim in the realized coordinates.
        let v = DVector::from_fn(dim, |i, _| {
            (((k * 7 + i * 3) % 13) as f64 / 6.0 - 1.0) * 1.2
        });
        samples.push(v);
    }
    let evals: Vec<_> = samples
        .iter()
        .map(|x| f.value_gradient(x).expect("QP solved"))
        .collect();
    let gap = evals.iter().map(|e| e.gap).fold(0.0, f64::max);
    let d = (2.0 * l * gap).sqrt();
    for i in 0..samples.len() {
        for j in 0..samples.len() {
            if i == j {
                continue;
            }
            let pair = [
                (
                    samples[i].as_slice().to_vec(),
                    evals[i].gradient.as_slice().to_vec(),
                    evals[i].value,
                ),
                (
                    samples[j].as_slice().to_vec(),
                    evals[j].gradient.as_slice().to_vec(),
                    evals[j].value,
                ),
            ];
            let v = class.max_violation(&pair);
            let dx = (&samples[i] - &samples[j]).norm();
            let dg = (&evals[i].gradient - &evals[j].gradient).norm();
            let tol = 2.0 * gap + dx * d + (2.0 * dg * d + 2.0 * d * d) / (2.0 * l);
            assert!(v <= tol, "samples {i}, {j}: violation {v:e} > {tol:e}");
        }
    }
}

// claim: pep-worst-case-is-attained
#[test]
fn gd_follows_the_rebuilt_worst_case() {
    replay_worst_case(1.0, 0.0, 1.0, 5);
    replay_worst_case(2.0, 0.0, 1.5, 3);
    replay_worst_case(1.0, 0.1, 1.0, 4);
}

fn pep_cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_descent"))
        .arg("pep")
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_gd_five_steps_is_one_over_22() {
    let (code, out, err) = pep_cli(&["--method", "gd", "--L", "1", "--mu", "0", "--steps", "5"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let wc = v["worst_case"].as_f64().expect("number");
    let acc = v["accuracy"].as_f64().expect("number");
    assert!(
        (wc - 1.0 / 22.0).abs() <= acc,
        "{wc} vs 1/22, accuracy {acc}"
    );
    assert_eq!(v["status"], "Solved");
    assert_eq!(v["measure"], "f");
    assert_eq!(v["method"], "gd");
}

#[test]
fn cli_refuses_bad_input_naming_the_flag() {
    let refused: &[(&[&str], &str)] = &[
        (&["--method", "gd", "--L", "0", "--steps", "5"], "--L"),
        (&["--method", "gd", "--L", "-1", "--steps", "5"], "--L"),
        (&["--method", "gd", "--L", "nan", "--steps", "5"], "--L"),
        (&["--method", "gd", "--L", "1e-320", "--steps", "5"], "--L"),
        (&["--method", "gd", "--L", "inf", "--steps", "5"], "--L"),
        (
            &[
                "--method",
                "nesterov",
                "--L",
                "1",
                "--steps",
                "3",
                "--momentum",
                "nan",
            ],
            "--momentum",
        ),
        (
            &["--method", "gd", "--L", "1", "--mu", "-0.1", "--steps", "5"],
            "--mu",
        ),
        (
            &["--method", "gd", "--L", "1", "--mu", "2", "--steps", "5"],
            "--mu",
        ),
        (&["--method", "gd", "--L", "1", "--steps", "0"], "--steps"),
        (&["--method", "gd", "--L", "1", "--steps", "33"], "--steps"),
        (
            &[
                "--method",
                "gd",
                "--L",
                "1",
                "--steps",
                "3",
                "--step-size",
                "2",
            ],
            "--step-size",
        ),
        (
            &[
                "--method",
                "nesterov",
                "--L",
                "1",
                "--steps",
                "3",
                "--step-size",
                "1.5",
            ],
            "--step-size",
        ),
        (
            &[
                "--method",
                "heavy-ball",
                "--L",
                "1",
                "--steps",
                "3",
                "--step-size",
                "1",
                "--momentum",
                "1",
            ],
            "--momentum",
        ),
        (
            &[
                "--method",
                "heavy-ball",
                "--L",
                "25",
                "--mu",
                "1",
                "--steps",
                "3",
                "--step-size",
                "3",
            ],
            "--step-size",
        ),
    ];
    for (args, flag) in refused {
        let (code, out, err) = pep_cli(args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?} printed {out}");
        assert!(err.contains(flag), "{args:?}: {err}");
    }
    let usage: &[(&[&str], &str)] = &[
        (&["--method", "sgd", "--L", "1", "--steps", "3"], "--method"),
        (&["--L", "1", "--steps", "3"], "--method"),
        (&["--method", "gd", "--steps", "3"], "--L"),
        (&["--method", "gd", "--L", "1"], "--steps"),
        (&["--method", "gd", "--L", "x", "--steps", "3"], "--L"),
        (&["--method", "gd", "--L", "1", "--steps", "2.5"], "--steps"),
        (
            &[
                "--method",
                "gd",
                "--L",
                "1",
                "--steps",
                "3",
                "--measure",
                "loss",
            ],
            "--measure",
        ),
        (
            &[
                "--method", "gd", "--L", "1", "--steps", "3", "--format", "csv",
            ],
            "--format",
        ),
        (
            &[
                "--method",
                "gd",
                "--L",
                "1",
                "--steps",
                "3",
                "--momentum",
                "0.5",
            ],
            "--momentum",
        ),
        (
            &[
                "--method",
                "ogm",
                "--L",
                "1",
                "--steps",
                "3",
                "--step-size",
                "1",
            ],
            "--step-size",
        ),
        (
            &["--method", "gd", "--L", "1", "--steps", "3", "--lr", "1"],
            "--lr",
        ),
        (&["--method", "gd", "--L", "1", "--steps"], "--steps"),
    ];
    for (args, flag) in usage {
        let (code, out, err) = pep_cli(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?} printed {out}");
        assert!(err.contains(flag), "{args:?}: {err}");
    }
}

#[test]
fn cli_reports_a_solver_failure_with_its_status_and_no_number() {
    // mu within 1e-12 of L: the conditions divide by 1 - mu/L and the program is
    // too badly scaled for the interior-point method to certify an optimum.
    let (code, out, err) = pep_cli(&[
        "--method",
        "gd",
        "--L",
        "1",
        "--mu",
        "0.999999999999",
        "--steps",
        "2",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty(), "printed {out}");
    assert!(err.contains("status"), "{err}");
    assert!(!err.contains("worst_case"), "{err}");
}

#[test]
fn measures_scale_with_l() {
    // f scales as L, |grad|^2 as L^2, |x - x*|^2 not at all (steps in units of 1/L).
    for (measure, power) in [
        (Measure::FunctionValue, 1),
        (Measure::GradientNorm, 2),
        (Measure::Distance, 0),
    ] {
        let one = solve(1.0, 0.1, Method::Gd { h: 1.0 }, 3, measure);
        let big = solve(1e6, 1e5, Method::Gd { h: 1.0 }, 3, measure);
        let k = 1e6_f64.powi(power);
        assert!(
            (big.value - k * one.value).abs() <= big.accuracy + k * one.accuracy,
            "{measure:?}"
        );
    }
}

/// PEPit's worst cases (tests/fixtures/pepit/worst_cases.json, written by
/// scripts/reference/pepit_fixtures.py with PEPit 0.5.1 over CVXPY and Clarabel)
/// against the crate's: every method, every measure, N = 1, 2, 3, 5. PEPit writes
/// its own interpolation conditions and its own SDP; both solutions are only
/// approximately optimal, so the two values may differ by the sum of their
/// accuracies (each: duality gap plus infeasibility times the other side's size,
/// the fixture's estimated by the script from PEPit's own feasibility check).
#[test]
fn pepit_fixtures_agree() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/pepit/worst_cases.json"
    );
    let text = std::fs::read_to_string(path).expect("fixture file");
    let fixture: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(fixture["pepit"], "0.5.1");
    let cases = fixture["cases"].as_array().expect("cases");
    let mut seen = std::collections::BTreeSet::new();
    for case in cases {
        let num = |k: &str| case[k].as_f64().expect("number");
        let (l, mu, h) = (num("L"), num("mu"), num("step_size"));
        let beta = case["momentum"].as_f64();
        let n = case["steps"].as_u64().expect("steps") as usize;
        let name = case["method"].as_str().expect("method");
        let method = match name {
            "gd" => Method::Gd { h },
            "heavy-ball" => Method::HeavyBall {
                h,
                beta: beta.expect("momentum"),
            },
            "nesterov" => Method::Nesterov {
                h,
                momentum: match beta {
                    Some(b) => NesterovMomentum::Constant(b),
                    None => NesterovMomentum::Tk,
                },
            },
            "ogm" => Method::Ogm,
            other => panic!("unknown method {other}"),
        };
        let measure_name = case["measure"].as_str().expect("measure");
        let measure = match measure_name {
            "f" => Measure::FunctionValue,
            "grad" => Measure::GradientNorm,
            "dist" => Measure::Distance,
            other => panic!("unknown measure {other}"),
        };
        seen.insert((name, measure_name));
        let wc = solve(l, mu, method, n, measure);
        let pepit = num("dual");
        let tol = wc.accuracy + num("accuracy");
        assert!(
            (wc.value - pepit).abs() <= tol,
            "{case}: crate {} vs PEPit {pepit}, tolerance {tol:e}",
            wc.value
        );
    }
    // Every method with every measure.
    assert_eq!(seen.len(), 4 * 3, "{seen:?}");
}
