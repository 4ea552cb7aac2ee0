//! L-BFGS (`src/second_order/lbfgs.rs`) against PyTorch's `LBFGS` on the
//! Rosenbrock function, and the quasi-Newton claims of its chapter.

mod common;

use std::fs;

use descent::problems::rosenbrock::Rosenbrock;
use descent::second_order::lbfgs::{Lbfgs, LbfgsConfig, LineSearch};
use nalgebra::DVector;
use serde_json::Value;

fn config(hyper: &Value) -> LbfgsConfig {
    let mut c = LbfgsConfig::default();
    let h = hyper.as_object().expect("hyper is an object");
    for (k, v) in h {
        match k.as_str() {
            "lr" => c.lr = v.as_f64().unwrap(),
            "max_iter" => c.max_iter = v.as_u64().unwrap() as usize,
            "max_eval" => c.max_eval = Some(v.as_u64().unwrap() as usize),
            "tolerance_grad" => c.tolerance_grad = v.as_f64().unwrap(),
            "tolerance_change" => c.tolerance_change = v.as_f64().unwrap(),
            "history_size" => c.history_size = v.as_u64().unwrap() as usize,
            "line_search_fn" => {
                c.line_search_fn = match v.as_str() {
                    Some("strong_wolfe") => LineSearch::StrongWolfe,
                    _ => LineSearch::None,
                }
            }
            other => panic!("unknown key {other}"),
        }
    }
    c
}

/// The crate's L-BFGS from `x0`: parameters and evaluations after each call.
fn trajectory<O: descent::problems::Objective>(
    f: &O,
    cfg: LbfgsConfig,
    x0: &[f64],
    steps: usize,
) -> Vec<(DVector<f64>, usize)> {
    let mut opt = Lbfgs::new(cfg).unwrap();
    let mut x = DVector::from_vec(x0.to_vec());
    (0..steps)
        .map(|_| {
            let r = opt.step(f, &mut x).unwrap();
            (x.clone(), r.evaluations)
        })
        .collect()
}

/// One call of `step` is one call of PyTorch's `step(closure)`. The crate's
/// gradients come from dual numbers and PyTorch's from autograd, which round
/// differently, so the iterates are compared within an envelope rather than bit
/// for bit: 16 runs of the crate's own L-BFGS in which every loss and gradient
/// entry is moved, with a random sign, by the largest rounding error any
/// evaluation order can make (8u and 16u times the sums of absolute values of
/// the terms, from `rounding_magnitudes`); at each step the envelope is the
/// largest distance of those runs from the unperturbed one. PyTorch's iterate
/// must lie within it, and every call must make exactly as many evaluations as
/// PyTorch's (the line search takes the same branches).
// claim: lbfgs-follows-pytorch
#[test]
fn lbfgs_follows_pytorch_on_rosenbrock() {
    let text = fs::read_to_string(common::fixture_dir("pytorch").join("lbfgs.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    for case in doc["cases"].as_array().unwrap() {
        let x0 = common::numbers(&case["x0"], "x0");
        let f = Rosenbrock::new(1.0, 100.0, x0.len()).unwrap();
        let cfg = config(&case["hyper"]);
        let expected = case["expected"].as_array().unwrap();
        // The envelope: 16 runs of the crate's own L-BFGS with perturbed
        // evaluations, each step's largest distance from the unperturbed run.
        let exact = trajectory(&f, cfg, &x0, expected.len());
        let mut envelope = vec![0.0f64; expected.len()];
        for seed in 0..16 {
            let p = Perturbed {
                inner: f,
                rng: std::cell::RefCell::new(descent::problems::quadratic::SplitMix64::new(seed)),
            };
            let run = trajectory(&p, cfg, &x0, expected.len());
            for k in 0..expected.len() {
                envelope[k] = envelope[k].max((&run[k].0 - &exact[k].0).amax());
            }
        }
        for (k, e) in expected.iter().enumerate() {
            let want = DVector::from_vec(common::numbers(&e["params"], "params"));
            let diff = (&exact[k].0 - &want).amax();
            println!(
                "{} step {}: |x - torch| = {:.3e}, envelope {:.3e}, evals {} vs {}",
                case["name"],
                k + 1,
                diff,
                envelope[k],
                exact[k].1,
                e["evals"]
            );
            assert_eq!(
                exact[k].1 as u64,
                e["evals"].as_u64().unwrap(),
                "{} step {}: evaluations",
                case["name"],
                k + 1
            );
            assert!(
                diff <= envelope[k],
                "{} step {}: {diff:e} > {:e}",
                case["name"],
                k + 1,
                envelope[k]
            );
        }
    }
}

/// Rosenbrock with every loss and gradient entry moved, with a random sign, by
/// the largest rounding error that any order of evaluating it can make.
struct Perturbed {
    inner: Rosenbrock,
    rng: std::cell::RefCell<descent::problems::quadratic::SplitMix64>,
}

impl descent::problems::Objective for Perturbed {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn eval<D: num_dual::DualNum<Primitive = f64>>(&self, x: &DVector<D>) -> D {
        self.inner.eval(x)
    }
    fn value_gradient(&self, x: &DVector<f64>) -> (f64, DVector<f64>) {
        let (f, mut g) = self.inner.value_gradient(x);
        let (fmag, gmag) = rounding_magnitudes(x, 1.0, 100.0);
        let mut rng = self.rng.borrow_mut();
        let mut sign = || {
            if rng.next_u64().is_multiple_of(2) {
                1.0
            } else {
                -1.0
            }
        };
        let u = f64::EPSILON / 2.0;
        let f = f + sign() * 8.0 * u * fmag;
        for i in 0..g.len() {
            g[i] += sign() * 16.0 * u * gmag[i];
        }
        (f, g)
    }
}

/// The sums of absolute values that bound the rounding of the chained
/// Rosenbrock loss and gradient in any evaluation order.
fn rounding_magnitudes(x: &DVector<f64>, a: f64, b: f64) -> (f64, DVector<f64>) {
    let n = x.len();
    let mut fmag = 0.0;
    let mut gmag = DVector::zeros(n);
    for i in 0..n - 1 {
        let (xi, xj) = (x[i].abs(), x[i + 1].abs());
        fmag += (a.abs() + xi).powi(2) + b * (xj + xi * xi).powi(2);
        gmag[i] += 2.0 * (a.abs() + xi) + 4.0 * b * xi * (xj + xi * xi);
        gmag[i + 1] += 2.0 * b * (xj + xi * xi);
    }
    (fmag, gmag)
}

/// exercise-lbfgs-3: with `max_iter = 1` and the default `max_eval`
/// (`max_iter * 5 / 4 = 1`), the strong-Wolfe line search has no evaluation left
/// and returns the step 0, so L-BFGS never moves; PyTorch's LBFGS behaves the
/// same (its fixture iterates start from the same rule). Any `max_eval >= 2`
/// lets it move.
// claim: exercise-lbfgs-3
#[test]
fn exercise_lbfgs_3_max_iter_one_never_moves() {
    let f = Rosenbrock::default();
    let x0 = DVector::from_vec(vec![-1.2, 1.0]);
    let run = |max_eval: Option<usize>| {
        let mut opt = Lbfgs::new(LbfgsConfig {
            max_iter: 1,
            max_eval,
            line_search_fn: LineSearch::StrongWolfe,
            ..LbfgsConfig::default()
        })
        .unwrap();
        let mut x = x0.clone();
        for _ in 0..10 {
            opt.step(&f, &mut x).unwrap();
        }
        x
    };
    assert_eq!(run(None), x0);
    assert_ne!(run(Some(2)), x0);
}
