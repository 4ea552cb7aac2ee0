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
            WeightDecay::L2(lambda) if lambda != 0.0 => Decay::l2(S::from_f64(lambda)),
            WeightDecay::Decoupled(lambda) if lambda != 0.0 => {
                Decay::shrink(S::from_f64(1.0 - lr * lambda))
            }
            _ => Decay::none(),
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
///
/// A struct of flags and coefficients rather than an enum, so that applying it is
/// a choice between two computed values (a select, which the driver's loop runs
/// on vectors) and not a branch on a variant (which stops the loop from running
/// on vectors). The flags are fixed for a step; at most one of them is set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decay<S> {
    /// Whether the gradient gets an L2 term `lambda theta`.
    l2: bool,
    /// `lambda` of the L2 term (zero when `l2` is false).
    lambda: S,
    /// Whether the parameter shrinks first (decoupled decay).
    shrink: bool,
    /// The factor `1 - lr lambda` of decoupled decay (one when `shrink` is false).
    factor: S,
}

impl<S: Scalar> Decay<S> {
    /// No decay.
    pub fn none() -> Self {
        Decay {
            l2: false,
            lambda: S::zero(),
            shrink: false,
            factor: S::one(),
        }
    }

    /// The L2 term `lambda theta` added to the gradient.
    pub fn l2(lambda: S) -> Self {
        Decay {
            l2: true,
            lambda,
            ..Self::none()
        }
    }

    /// Decoupled decay: the parameter is multiplied by `factor = 1 - lr lambda`.
    pub fn shrink(factor: S) -> Self {
        Decay {
            shrink: true,
            factor,
            ..Self::none()
        }
    }

    /// The gradient the optimizer sees: `g + lambda theta` for L2, else `g`.
    #[inline(always)]
    pub fn grad(self, g: S, theta: S) -> S {
        let decayed = self.lambda.mul_add(theta, g);
        if self.l2 { decayed } else { g }
    }

    /// The parameter the step starts from: `theta (1 - lr lambda)` when decoupled,
    /// else `theta`.
    #[inline(always)]
    pub fn param(self, theta: S) -> S {
        let shrunk = theta * self.factor;
        if self.shrink { shrunk } else { theta }
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
