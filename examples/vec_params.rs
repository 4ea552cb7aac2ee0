//! Stepping parameters held in a plain `Vec<f64>`: every optimizer takes slices
//! (`step_slice`), so a `Vec`, an ndarray's memory or a `DVector`'s storage works
//! without copying.
//!
//! Run with `cargo run --example vec_params`.

use descent::optim::{Sgd, SgdConfig};

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
        let grad = gradient(&params);
        sgd.step_slice(&mut params, &grad)?;
    }
    println!("{params:?}");
    assert!(params.iter().all(|p| (p - 3.0).abs() < 1e-12));
    Ok(())
}
