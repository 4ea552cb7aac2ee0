//! A training loop whose optimizer is chosen at run time (`Box<dyn Optimizer>`),
//! with a one-cycle learning-rate schedule and gradient clipping, in PyTorch's
//! order: clip, step, then schedule.
//!
//! Run with `cargo run --example schedule`.

use descent::clip::{NormType, clip_grad_norm};
use descent::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use descent::schedule::{LrScheduler, OneCycleLR, Schedule};
use nalgebra::DVector;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let use_adam = std::env::args().any(|a| a == "--adam");
    let mut opt: Box<dyn Optimizer> = if use_adam {
        Box::new(Adam::new(AdamConfig::default())?)
    } else {
        Box::new(Sgd::new(SgdConfig {
            momentum: 0.9,
            ..SgdConfig::default()
        })?)
    };
    let steps = 200;
    // OneCycleLR cycles SGD's momentum (or Adam's beta1) against the rate.
    let mut sched = LrScheduler::new(
        Schedule::OneCycleLR(OneCycleLR::new(0.05, steps)),
        opt.as_mut(),
    )?;

    // f(x) = sum_i c_i x_i^2 / 2 with curvatures from 1 to 100.
    let c = DVector::from_fn(5, |i, _| 10f64.powf(i as f64 / 2.0));
    let mut x = DVector::from_element(5, 1.0);
    for t in 0..steps {
        let mut g = c.component_mul(&x);
        let norm = clip_grad_norm(g.as_mut_slice(), 5.0, NormType::Two, false)?;
        let lr = opt.lr();
        opt.step(&mut x, &g)?;
        if t % 40 == 0 {
            println!(
                "step {t:3}: lr {lr:.5}  momentum {:.3}  |g| {norm:9.3}  f {:.3e}",
                opt.momentum().unwrap_or(0.0),
                0.5 * x.dot(&c.component_mul(&x))
            );
        }
        sched.step(opt.as_mut())?;
    }
    let f = 0.5 * x.dot(&c.component_mul(&x));
    println!("final f = {f:.3e}");
    assert!(f < 1e-3, "the loop converges");
    Ok(())
}
