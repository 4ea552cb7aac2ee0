//! Moving averages and bias correction, written once and shared.
//!
//! PyTorch computes the two exponential moving averages of Adam and RMSprop with
//! different tensor operations, which round differently. Both are written here
//! exactly as PyTorch evaluates them, so that the fixtures match to the last bit
//! where the platform's PyTorch uses fused multiply-adds (as the x86-64 builds do).

// ANCHOR: lerp
/// PyTorch's `lerp(a, b, w) = a + w (b - a)`, evaluated as its CPU kernel does:
/// from `a` when `w < 0.5` and from `b` otherwise, with one fused multiply-add.
pub fn lerp(a: f64, b: f64, w: f64) -> f64 {
    if w < 0.5 {
        w.mul_add(b - a, a)
    } else {
        (-(b - a)).mul_add(1.0 - w, b)
    }
}
// ANCHOR_END: lerp

// ANCHOR: ema
/// The moving average of a gradient: `beta * avg + (1 - beta) * g`, as PyTorch's
/// `avg.lerp_(g, 1 - beta)`.
pub fn ema(avg: f64, g: f64, beta: f64) -> f64 {
    lerp(avg, g, 1.0 - beta)
}

/// The moving average of a squared gradient: `beta * avg + (1 - beta) * g^2`, as
/// PyTorch's `avg.mul_(beta).addcmul_(g, g, value=1 - beta)`.
pub fn ema_sq(avg: f64, g: f64, beta: f64) -> f64 {
    ((1.0 - beta) * g).mul_add(g, avg * beta)
}
// ANCHOR_END: ema

// ANCHOR: bias_correction
/// The bias correction `1 - beta^t` of a moving average started from zero: after
/// `t` steps of a constant `g`, the average is `(1 - beta^t) g`.
pub fn bias_correction(beta: f64, t: u64) -> f64 {
    1.0 - beta.powf(t as f64)
}
// ANCHOR_END: bias_correction
