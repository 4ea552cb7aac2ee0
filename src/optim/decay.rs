//! Weight decay, written once: as an L2 term added to the gradient, or decoupled
//! from it and applied to the parameter.

use super::scalar::Scalar;

// claims: l2-equals-decay-for-sgd, l2-differs-from-decay-with-momentum,
//     l2-differs-from-decay-for-adam, adamw-decay-scaling, adamw-prop3-appendix, seed-l2-factor,
//     matches-pytorch, exercise-weight-decay-1, exercise-weight-decay-2, exercise-weight-decay-3,
//     exercise-weight-decay-4
// ANCHOR: decay
/// How an optimizer applies weight decay with coefficient `lambda`.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
    pub fn grad<S: Scalar>(self, g: S, theta: S) -> S {
        self.at(0.0).grad(g, theta)
    }

    /// The parameter the step starts from: `theta (1 - lr lambda)` when decoupled,
    /// else `theta`.
    pub fn param<S: Scalar>(self, theta: S, lr: f64) -> S {
        self.at(lr).param(theta)
    }

    /// The decay of one step with learning rate `lr`, its coefficients computed
    /// once (in `f64`, as PyTorch computes `1 - lr lambda` in Python).
    #[inline(always)]
    pub fn at<S: Scalar>(self, lr: f64) -> Decay<S> {
        match self {
            WeightDecay::L2(lambda) if lambda != 0.0 => Decay::L2(S::from_f64(lambda)),
            WeightDecay::Decoupled(lambda) if lambda != 0.0 => {
                Decay::Shrink(S::from_f64(1.0 - lr * lambda))
            }
            _ => Decay::None,
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

/// The weight decay of one step, with its per-step coefficient computed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Decay<S> {
    /// No decay (or a zero coefficient).
    None,
    /// L2: the gradient becomes `g + lambda theta`; holds `lambda`.
    L2(S),
    /// Decoupled: the parameter becomes `theta (1 - lr lambda)`; holds the factor.
    Shrink(S),
}

impl<S: Scalar> Decay<S> {
    /// The gradient the optimizer sees: `g + lambda theta` for L2, else `g`.
    #[inline(always)]
    pub fn grad(self, g: S, theta: S) -> S {
        match self {
            Decay::L2(lambda) => lambda.mul_add(theta, g),
            _ => g,
        }
    }

    /// The parameter the step starts from: `theta (1 - lr lambda)` when decoupled,
    /// else `theta`.
    #[inline(always)]
    pub fn param(self, theta: S) -> S {
        match self {
            Decay::Shrink(factor) => theta * factor,
            _ => theta,
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
