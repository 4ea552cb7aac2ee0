//! # Descent
//!
//! The optimizers of deep learning, derived in the Descent book and checked by its
//! tests: SGD with momentum and Nesterov, AdaGrad, RMSprop, AdaDelta, Adam, AdamW,
//! AMSGrad and Rprop, with PyTorch's semantics and defaults.
//!
//! ```
//! use descent::optim::{Adam, AdamConfig, Optimizer};
//! use nalgebra::DVector;
//!
//! let mut adam = Adam::new(AdamConfig { lr: 0.1, ..AdamConfig::default() })?;
//! let mut theta = DVector::from_vec(vec![1.0, -2.0]);
//! for _ in 0..100 {
//!     let grad = theta.clone(); // the gradient of |theta|^2 / 2
//!     adam.step(&mut theta, &grad)?;
//! }
//! assert!(theta.norm() < 0.1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Cargo features: `cli` (default) builds the `descent` command and the modules
//! only it, the book and the tests need (`cli`, `run`, `replay`, `json`,
//! `figures`, `ledger`); `pep` (default) the worst-case solver (`pep`, with
//! Clarabel, BLAS and LAPACK); `serde` checkpoints (`optim::checkpoint`). With
//! `default-features = false` the crate is the optimizers, the second-order
//! methods, the problems, schedules, clipping and errors alone.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "cli")]
pub mod cli;
pub mod clip;
pub mod error;
#[cfg(feature = "cli")]
pub mod figures;
#[cfg(feature = "cli")]
pub mod json;
#[cfg(feature = "cli")]
pub mod ledger;
pub mod optim;
#[cfg(feature = "pep")]
pub mod pep;
pub mod problems;
#[cfg(feature = "cli")]
pub mod replay;
#[cfg(feature = "cli")]
pub mod run;
pub mod schedule;
pub mod second_order;

pub use error::{CheckpointError, HyperError, StepError};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
