//! Stepping parameters held in a plain `Vec<f64>`: the vector moves into a
//! `DVector` and back out without copying (nalgebra keeps the same buffer).
//!
//! Run with `cargo run --example vec_params`.

use descent::optim::{Optimizer, Sgd, SgdConfig};
use nalgebra::DVector;

/// The gradient of `f(x) = |x - 3|^2 / 2`.
fn gradient(x: &[f64]) -> Vec<f64> {
    x.iter().map(|xi| xi - 3.0).collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut params: Vec<f64> = vec![0.0, 10.0, -4.0];
    let mut sgd = Sgd::new(SgdConfig {
        lr: 0.5,
        ..SgdConfig::default()
    })?;
    for _ in 0..60 {
        let grad = DVector::from_vec(gradient(&params));
        let mut theta = DVector::from_vec(params); // takes the Vec's buffer
        sgd.step(&mut theta, &grad)?;
        params = theta.data.into(); // and gives it back
    }
    println!("{params:?}");
    assert!(params.iter().all(|p| (p - 3.0).abs() < 1e-12));
    Ok(())
}
