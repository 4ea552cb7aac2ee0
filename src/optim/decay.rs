//! Weight decay, written once: as an L2 term added to the gradient, or decoupled
//! from it and applied to the parameter.

// ANCHOR: decay
/// How an optimizer applies weight decay with coefficient `lambda`.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum WeightDecay {
    /// No decay.
    #[default]
    None,
    /// L2 regularization `(lambda/2)|theta|^2`: the gradient becomes
    /// `g + lambda theta` (PyTorch's `weight_decay` for SGD, Adam, RMSprop, ...).
    L2(f64),
    /// Decoupled decay: the parameter shrinks to `theta (1 - lr lambda)` before the
    /// optimizer's step, and the gradient is left alone (AdamW; SGDW).
    Decoupled(f64),
}

impl WeightDecay {
    /// The gradient the optimizer sees: `g + lambda theta` for L2, else `g`.
    pub fn grad(self, g: f64, theta: f64) -> f64 {
        match self {
            WeightDecay::L2(lambda) if lambda != 0.0 => lambda.mul_add(theta, g),
            _ => g,
        }
    }

    /// The parameter the step starts from: `theta (1 - lr lambda)` when decoupled,
    /// else `theta`.
    pub fn param(self, theta: f64, lr: f64) -> f64 {
        match self {
            WeightDecay::Decoupled(lambda) if lambda != 0.0 => theta * (1.0 - lr * lambda),
            _ => theta,
        }
    }

    /// The coefficient `lambda` (zero for `None`).
    pub fn coefficient(self) -> f64 {
        match self {
            WeightDecay::None => 0.0,
            WeightDecay::L2(lambda) | WeightDecay::Decoupled(lambda) => lambda,
        }
    }
}
// ANCHOR_END: decay

/// Refuses a negative or non-finite decay coefficient.
pub fn validate(
    optimizer: &'static str,
    decay: WeightDecay,
) -> Result<(), crate::error::HyperError> {
    super::hyper::non_negative(optimizer, "weight_decay", decay.coefficient())
}
