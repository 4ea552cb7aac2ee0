//! Range checks for hyperparameters, written once for every optimizer.

use crate::error::HyperError;

/// The range `[0, inf)`.
pub const NON_NEGATIVE: &str = "[0, inf) (finite)";
/// The closed unit interval.
pub const UNIT_CLOSED: &str = "[0, 1]";
/// The half-open unit interval.
pub const UNIT_HALF_OPEN: &str = "[0, 1)";

/// Refuses `value` for `param` unless it is finite and `ok(value)` holds.
pub fn check(
    optimizer: &'static str,
    param: &'static str,
    value: f64,
    range: &'static str,
    ok: impl Fn(f64) -> bool,
) -> Result<(), HyperError> {
    if value.is_finite() && ok(value) {
        Ok(())
    } else {
        Err(HyperError {
            optimizer,
            param,
            value: format!("{value:?}"),
            range,
        })
    }
}

/// Refuses a negative or non-finite `value`.
pub fn non_negative(
    optimizer: &'static str,
    param: &'static str,
    value: f64,
) -> Result<(), HyperError> {
    check(optimizer, param, value, NON_NEGATIVE, |x| x >= 0.0)
}

/// Refuses a `value` outside `[0, 1]`.
pub fn unit_closed(
    optimizer: &'static str,
    param: &'static str,
    value: f64,
) -> Result<(), HyperError> {
    check(optimizer, param, value, UNIT_CLOSED, |x| {
        (0.0..=1.0).contains(&x)
    })
}

/// Refuses a `value` outside `[0, 1)`.
pub fn unit_half_open(
    optimizer: &'static str,
    param: &'static str,
    value: f64,
) -> Result<(), HyperError> {
    check(optimizer, param, value, UNIT_HALF_OPEN, |x| {
        (0.0..1.0).contains(&x)
    })
}
