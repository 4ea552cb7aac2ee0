//! Lion against Optax 0.2.8's `optax.lion` (claim `lion-matches-optax`), and
//! Lion's sign property (claim `lion-moves-every-coordinate-by-lr`).
//!
//! The fixture `tests/fixtures/optax/lion.json` is written by
//! `scripts/reference/generate_more.py`: `optax.lion(**args)` under `jax.jit` in
//! float64 on recorded gradients. Each case runs here through `descent replay`,
//! with Optax's `learning_rate`, `b1`, `b2` and `weight_decay` renamed to `lr`
//! and `betas`.
//!
//! # Tolerance: bit for bit
//!
//! A Lion step takes no root and no division: products and sums in Optax's
//! order, each rounded once, and a sign, which is exact. XLA's CPU backend
//! fuses no multiply-add in these float64 expressions (fusing the final
//! `theta + (-lr) u` makes this test fail at step 2 of `defaults`), so every
//! iterate must be bit-identical. A rounding in the interpolation `c` is hidden
//! by the sign unless `c` is within an ulp of zero.

mod common;

use common::{fixture_dir, numbers, rows, to_json};

use descent::optim::{Lion, LionConfig, Optimizer};
use nalgebra::DVector;
use serde_json::{Map, Value};

struct Case {
    name: String,
    hyper: Map<String, Value>,
    params: Vec<f64>,
    grads: Vec<Vec<f64>>,
    expected: Vec<Vec<f64>>,
}

fn load() -> Vec<Case> {
    let path = fixture_dir("optax").join("lion.json");
    let text = std::fs::read_to_string(&path).expect("lion fixture");
    let doc: Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(
        doc["optax"], "0.2.8",
        "the fixture was written by the pinned Optax"
    );
    doc["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            assert_eq!(c["function"], "lion");
            let args = c["args"].as_object().expect("args");
            let mut hyper = Map::new();
            let (mut b1, mut b2) = (0.9, 0.99);
            for (key, value) in args {
                match key.as_str() {
                    "learning_rate" => {
                        hyper.insert("lr".into(), value.clone());
                    }
                    "weight_decay" => {
                        hyper.insert("weight_decay".into(), value.clone());
                    }
                    "b1" => b1 = value.as_f64().expect("b1"),
                    "b2" => b2 = value.as_f64().expect("b2"),
                    other => panic!("unexpected Optax argument {other}"),
                }
            }
            hyper.insert("betas".into(), to_json(&[b1, b2]));
            Case {
                name: c["name"].as_str().expect("name").into(),
                hyper,
                params: numbers(&c["params"], "params"),
                grads: rows(&c["grads"], "grads"),
                expected: rows(&c["expected"], "expected"),
            }
        })
        .collect()
}

fn replay(case: &Case) -> Vec<Vec<f64>> {
    let mut req = Map::new();
    req.insert("optimizer".into(), "lion".into());
    req.insert("hyper".into(), Value::Object(case.hyper.clone()));
    req.insert("params".into(), to_json(&case.params));
    req.insert(
        "grads".into(),
        Value::Array(case.grads.iter().map(|g| to_json(g)).collect()),
    );
    let out = descent::replay::replay(&Value::Object(req).to_string()).expect("replay runs");
    let out: Value = serde_json::from_str(&out).expect("JSON");
    rows(&out["params"], "params")
}

// claim: lion-matches-optax
/// Every iterate of every Optax case, bit for bit.
#[test]
fn lion_matches_optax_bit_for_bit() {
    let cases = load();
    assert_eq!(cases.len(), 4);
    for case in &cases {
        let ours = replay(case);
        assert_eq!(ours.len(), case.expected.len(), "{}", case.name);
        for (t, (a, b)) in ours.iter().zip(&case.expected).enumerate() {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert_eq!(
                    x.to_bits(),
                    y.to_bits(),
                    "lion / {}: step {} entry {i}: ours {x:e}, Optax {y:e}",
                    case.name,
                    t + 1
                );
            }
        }
    }
}

// claim: lion-moves-every-coordinate-by-lr
/// Without decay, a Lion step changes each coordinate by exactly `-lr`, `0` or
/// `+lr` in exact arithmetic; in floats `|theta' - theta|` is `lr` up to the one
/// rounding of `theta + (-lr) u`, at most half an ulp of `theta'`.
#[test]
fn lion_moves_every_coordinate_by_lr() {
    let lr = 0.01;
    let mut opt = Lion::new(LionConfig {
        lr,
        weight_decay: 0.0,
        ..LionConfig::default()
    })
    .unwrap();
    let mut theta = DVector::from_fn(9, |i, _| (i as f64 * 0.7).sin());
    for t in 0..40 {
        let g = DVector::from_fn(9, |i, _| {
            if i == 4 {
                0.0
            } else {
                ((i * 13 + t * 7) as f64).cos()
            }
        });
        let before = theta.clone();
        opt.step(&mut theta, &g).unwrap();
        for i in 0..9 {
            let moved = (theta[i] - before[i]).abs();
            let half_ulp = theta[i].abs().max(before[i].abs()) * f64::EPSILON;
            if i == 4 && t == 0 {
                // A zero gradient on a zero momentum: sign(0) = 0, no move.
                assert_eq!(theta[i], before[i]);
            } else if moved != 0.0 || i != 4 {
                assert!(
                    (moved - lr).abs() <= half_ulp,
                    "step {t}, entry {i}: moved {moved}, expected {lr}"
                );
            }
        }
    }
}

// claim: lion-drifts-on-zero-mean-minibatches
/// On Hinton's minibatch sequence (+0.1 nine times, then -0.9; mean zero),
/// Lion with its default betas moves every epoch by exactly `-8 lr` (nine steps
/// down, one up): the momentum never grows large enough to flip the sign of
/// `0.1 (0.1) + 0.9 m`.
#[test]
fn lion_drifts_on_zero_mean_minibatches() {
    use descent::problems::minibatch_sign::MinibatchSign;
    let lr = 0.01;
    let problem = MinibatchSign::hinton(1).unwrap();
    let mut opt = Lion::new(LionConfig {
        lr,
        weight_decay: 0.0,
        ..LionConfig::default()
    })
    .unwrap();
    let mut theta = DVector::from_element(1, 0.0);
    let mut k = 0;
    for epoch in 0..50 {
        let start = theta[0];
        for _ in 0..10 {
            opt.step(&mut theta, &problem.gradient(k)).unwrap();
            k += 1;
        }
        // Ten additions of +-lr to numbers below 5 in size: each rounds by at
        // most half an ulp of 5, so 10 * 2^-52 * 5 bounds the sum's error.
        let moved = theta[0] - start;
        assert!(
            (moved + 8.0 * lr).abs() <= 10.0 * 5.0 * f64::EPSILON,
            "epoch {epoch}: moved {moved}"
        );
    }
}
