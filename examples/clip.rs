//! Gradient clipping on a plain slice, before any optimizer: by norm (returning
//! the norm it measured) and by value.
//!
//! Run with `cargo run --example clip`.

use descent::clip::{NormType, clip_grad_norm, clip_grad_value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut g = vec![3.0, -4.0, 0.0];
    let norm = clip_grad_norm(&mut g, 1.0, NormType::Two, false)?;
    println!("2-norm was {norm}; clipped gradient {g:?}");
    assert_eq!(norm, 5.0);

    let mut g = vec![3.0, -4.0, 0.0];
    let norm = clip_grad_norm(&mut g, 1.0, NormType::Inf, false)?;
    println!("inf-norm was {norm}; clipped gradient {g:?}");

    let mut g = vec![3.0, -4.0, 0.5];
    clip_grad_value(&mut g, 1.0)?;
    println!("clipped by value: {g:?}");
    assert_eq!(g, [1.0, -1.0, 0.5]);

    // error_if_nonfinite refuses an infinite norm and leaves the gradient alone.
    let mut g = vec![1e200, 1e200];
    assert!(clip_grad_norm(&mut g, 1.0, NormType::Two, true).is_err());
    assert_eq!(g, [1e200, 1e200]);
    Ok(())
}
