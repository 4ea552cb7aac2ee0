//! Checkpoint an optimizer to JSON and resume it (cargo feature `serde`).
//!
//! Trains AdamW on a small least-squares problem for 50 steps, writes the
//! optimizer and the parameters to a JSON file, reads them back as a fresh
//! program would, trains 50 more steps, and checks the result is bit for bit
//! the one of 100 steps in one go.
//!
//! Run with `cargo run --example checkpoint --features serde`.

use descent::optim::{Adam, AdamConfig};

/// The gradient of `sum_i (i + 1) (theta_i - 1)^2 / 2`.
fn grad(theta: &[f64]) -> Vec<f64> {
    theta
        .iter()
        .enumerate()
        .map(|(i, x)| (i as f64 + 1.0) * (x - 1.0))
        .collect()
}

fn train(adam: &mut Adam, theta: &mut [f64], steps: usize) -> Result<(), descent::StepError> {
    for _ in 0..steps {
        let g = grad(theta);
        adam.step_slice(theta, &g)?;
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = AdamConfig {
        lr: 0.05,
        ..AdamConfig::adamw()
    };

    // 100 steps in one go.
    let mut straight = Adam::new(config)?;
    let mut theta_straight = vec![0.0; 4];
    train(&mut straight, &mut theta_straight, 100)?;

    // 50 steps, then a checkpoint: the optimizer (configuration and state, with
    // PyTorch's buffer names) and the parameters.
    let mut adam = Adam::new(config)?;
    let mut theta = vec![0.0; 4];
    train(&mut adam, &mut theta, 50)?;
    let path = std::env::temp_dir().join(format!("descent-checkpoint-{}.json", std::process::id()));
    let checkpoint = serde_json::json!({ "optimizer": adam, "params": theta });
    std::fs::write(&path, serde_json::to_string_pretty(&checkpoint)?)?;
    drop((adam, theta));

    // Resume: loading checks the state against the configuration.
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    let mut adam: Adam = serde_json::from_value(saved["optimizer"].clone())?;
    let mut theta: Vec<f64> = serde_json::from_value(saved["params"].clone())?;
    std::fs::remove_file(&path)?;
    train(&mut adam, &mut theta, 50)?;

    assert_eq!(adam, straight);
    assert!(
        theta
            .iter()
            .zip(&theta_straight)
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );
    println!("resumed after step 50: theta = {theta:?}, bit-identical to 100 steps in one go");
    Ok(())
}
