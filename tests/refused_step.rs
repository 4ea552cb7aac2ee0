//! Refused steps: every optimizer, with random valid hyperparameters, random
//! parameters and a random history of steps, is given one bad step:
//!
//! - (a) a gradient of the wrong length,
//! - (b) parameters of a different length than the state,
//! - (c) a gradient with NaN or an infinity at a random coordinate,
//! - (d) a step that overflows the state or the parameters,
//! - (e) parameters that are already NaN or infinite.
//!
//! The step must return the right [`StepError`] and leave parameters and state
//! bit-for-bit as they were (a refused first step leaves no state at all). A good
//! step taken after the refused one must then give exactly what it gives to a twin
//! optimizer that never saw the refused step.
//!
//! Parameters are compared through `to_bits`, and the state both with `==` and
//! through its `Debug` text: `==` on `f64` takes `-0.0` for `0.0`, while `Debug`
//! prints every `f64` so that it reads back to the same bits (and keeps the sign of
//! zero), so equal texts mean bitwise-equal finite entries.

use descent::StepError;
use descent::optim::{
    AdadeltaConfig, AdagradConfig, AdamConfig, AdamaxConfig, Amsgrad, AsgdConfig, Buffers,
    LionConfig, NAdamConfig, Optim, Optimizer, RAdamConfig, RmsPropConfig, RpropConfig, Rule,
    SgdConfig, SparseAdamConfig, WeightDecay,
};
use nalgebra::DVector;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{FileFailurePersistence, RngSeed, TestCaseError};

/// The last double below 1.
const ONE_DOWN: f64 = 0.9999999999999999;
/// The first double above 1.
const ONE_UP: f64 = 1.0000000000000002;
/// The smallest positive double (subnormal).
const TINY: f64 = 5e-324;
/// A gradient entry whose square overflows: 1e400 > f64::MAX ~ 1.8e308, and even
/// scaled by a factor (1 - beta) >= 1e-3 it stays above 1e397.
const HUGE: f64 = 1e200;

// ------------------------------------------------------------------ the harness

/// Everything a step may change, in a form compared bit for bit.
#[derive(Debug, PartialEq)]
struct Snapshot<S> {
    params: Vec<u64>,
    state: Option<S>,
    state_text: String,
    steps: u64,
}

fn snapshot<R: Rule>(opt: &Optim<R>, params: &DVector<f64>) -> Snapshot<R::State> {
    Snapshot {
        params: params.iter().map(|x| x.to_bits()).collect(),
        state: opt.state().cloned(),
        state_text: format!("{:?}", opt.state()),
        steps: opt.steps_taken(),
    }
}

/// Equality of errors, with the offending gradient entry compared bit for bit
/// (`==` would fail on NaN and would not tell the NaN payloads apart).
fn same_error(a: &StepError, b: &StepError) -> bool {
    match (a, b) {
        (
            StepError::NonFiniteGradient { index: i, value: v },
            StepError::NonFiniteGradient { index: j, value: w },
        ) => i == j && v.to_bits() == w.to_bits(),
        _ => a == b,
    }
}

fn same_outcome(a: &Result<(), StepError>, b: &Result<(), StepError>) -> bool {
    match (a, b) {
        (Ok(()), Ok(())) => true,
        (Err(a), Err(b)) => same_error(a, b),
        _ => false,
    }
}

/// The bad step for a case: parameters, gradient and the error it must give.
/// `None` when the case does not apply (no state length to contradict).
type Bad = Option<(DVector<f64>, DVector<f64>, StepError)>;

/// Runs the history, then the bad step, then one good step on the refused
/// optimizer and on a twin that never saw the bad step.
fn check<R: Rule + PartialEq>(
    config: R,
    params: Vec<f64>,
    history: Vec<Vec<f64>>,
    good: Vec<f64>,
    bad: impl FnOnce(&Optim<R>, &DVector<f64>) -> Bad,
) -> Result<(), TestCaseError> {
    let mut opt = match Optim::new(config) {
        Ok(opt) => opt,
        Err(e) => return Err(TestCaseError::fail(format!("invalid test config: {e}"))),
    };
    let mut params = DVector::from_vec(params);

    // The history. A step in it may be refused legitimately (say 0/0 with eps = 0,
    // or the square root of a centered second moment that rounded below 0); each
    // step, taken or refused, must be exactly what the oracle predicts.
    for g in history {
        let _taken_or_refused = step_as_predicted(&mut opt, &mut params, &DVector::from_vec(g))?;
    }

    let Some((mut bad_params, bad_grad, expected)) = bad(&opt, &params) else {
        return Ok(());
    };
    let twin = opt.clone();
    let before = snapshot(&opt, &bad_params);
    let outcome = opt.step(&mut bad_params, &bad_grad);
    match &outcome {
        Ok(()) => {
            return Err(TestCaseError::fail(format!(
                "bad step accepted; expected {expected:?}"
            )));
        }
        Err(e) => prop_assert!(
            same_error(e, &expected),
            "got {:?}, expected {:?}",
            e,
            expected
        ),
    }
    prop_assert_eq!(&snapshot(&opt, &bad_params), &before);
    prop_assert!(opt == twin, "the refused step changed the optimizer");

    // A good step now: exactly as if the refused step had never happened.
    let good = DVector::from_vec(good);
    let (mut a, mut b) = (params.clone(), params.clone());
    let (mut refused, mut fresh) = (opt, twin);
    let ra = step_as_predicted(&mut refused, &mut a, &good)?;
    let rb = fresh.step(&mut b, &good);
    prop_assert!(same_outcome(&ra, &rb), "{:?} vs {:?}", ra, rb);
    prop_assert_eq!(snapshot(&refused, &a), snapshot(&fresh, &b));
    Ok(())
}

/// The oracle for a step with well-sized, finite inputs, written from the rule's
/// per-coordinate `update` alone: the step is refused exactly when some coordinate
/// would become non-finite (the first such coordinate, the parameter before the
/// buffers, is reported); otherwise every coordinate gets its `update` for step
/// `t + 1`, and the rule's per-step scalars (ASGD's `eta` and `mu`, NAdam's
/// `mu_product`) are those `finish` records from `prepare(t + 1)`, the constants
/// computed from `t` alone. Takes the step on `opt` and checks it against the
/// oracle.
fn step_as_predicted<R: Rule + PartialEq>(
    opt: &mut Optim<R>,
    params: &mut DVector<f64>,
    grad: &DVector<f64>,
) -> Result<Result<(), StepError>, TestCaseError> {
    let rule = opt.config().clone();
    let mut state = opt.state().cloned().unwrap_or_else(|| rule.init(params));
    let t = state.step() + 1;
    let mut predicted_params = params.clone();
    let mut predicted = Ok(());
    for i in 0..params.len() {
        let (theta, c) = rule.update(t, params[i], grad[i], state.get(i));
        let quantity = if theta.is_finite() {
            <R::State as Buffers>::non_finite(&c)
        } else {
            Some("param")
        };
        if let Some(quantity) = quantity {
            predicted = Err(StepError::NonFiniteResult { index: i, quantity });
            break;
        }
        predicted_params[i] = theta;
        state.set(i, c);
    }
    state.set_step(t);
    rule.finish(&rule.prepare(t), &mut state);

    let before = snapshot(opt, params);
    let outcome = opt.step(params, grad);
    prop_assert!(
        same_outcome(&outcome, &predicted),
        "step gave {:?}, the oracle {:?}",
        outcome,
        predicted
    );
    if outcome.is_ok() {
        prop_assert_eq!(
            snapshot(opt, params),
            Snapshot {
                params: predicted_params.iter().map(|x| x.to_bits()).collect(),
                state_text: format!("{:?}", Some(&state)),
                state: Some(state),
                steps: t,
            }
        );
    } else {
        prop_assert_eq!(snapshot(opt, params), before);
    }
    Ok(outcome)
}

// ------------------------------------------------------------------ configs

/// Every optimizer, with its hyperparameters.
#[derive(Clone, Debug)]
enum Config {
    Sgd(SgdConfig),
    Adagrad(AdagradConfig),
    RmsProp(RmsPropConfig),
    Adadelta(AdadeltaConfig),
    Adam(AdamConfig),
    Rprop(RpropConfig),
    Asgd(AsgdConfig),
    Adamax(AdamaxConfig),
    NAdam(NAdamConfig),
    RAdam(RAdamConfig),
    Lion(LionConfig),
    SparseAdam(SparseAdamConfig),
}

/// Runs `$body` with `$c` bound to the concrete config, so that the generic
/// harness is instantiated once per optimizer.
macro_rules! with_config {
    ($config:expr, |$c:ident| $body:expr) => {
        match $config {
            Config::Sgd($c) => $body,
            Config::Adagrad($c) => $body,
            Config::RmsProp($c) => $body,
            Config::Adadelta($c) => $body,
            Config::Adam($c) => $body,
            Config::Rprop($c) => $body,
            Config::Asgd($c) => $body,
            Config::Adamax($c) => $body,
            Config::NAdam($c) => $body,
            Config::RAdam($c) => $body,
            Config::Lion($c) => $body,
            Config::SparseAdam($c) => $body,
        }
    };
}

fn non_negative(hi: f64) -> impl Strategy<Value = f64> {
    prop_oneof![1 => Just(0.0), 4 => 0.0..hi]
}

fn unit_closed() -> impl Strategy<Value = f64> {
    prop_oneof![1 => Just(0.0), 1 => Just(1.0), 4 => 0.0..=1.0]
}

fn unit_half_open() -> impl Strategy<Value = f64> {
    prop_oneof![1 => Just(0.0), 1 => Just(ONE_DOWN), 4 => 0.0..1.0]
}

/// `(0, hi)`, with the smallest positive double (SparseAdam's `lr` and `eps`).
fn positive(hi: f64) -> impl Strategy<Value = f64> {
    prop_oneof![1 => Just(TINY), 4 => (0.0..hi).prop_map(|x| x.max(TINY))]
}

fn decay(hi: f64) -> impl Strategy<Value = WeightDecay> {
    prop_oneof![
        Just(WeightDecay::None),
        non_negative(hi).prop_map(WeightDecay::L2),
        non_negative(hi).prop_map(WeightDecay::Decoupled),
    ]
}

/// PyTorch's `weight_decay` alone (ASGD and Adamax have no decoupled decay).
fn l2_decay(hi: f64) -> impl Strategy<Value = WeightDecay> {
    prop_oneof![
        Just(WeightDecay::None),
        non_negative(hi).prop_map(WeightDecay::L2),
    ]
}

fn amsgrad() -> impl Strategy<Value = Amsgrad> {
    prop::sample::select(vec![
        Amsgrad::Off,
        Amsgrad::PyTorch,
        Amsgrad::Paper,
        Amsgrad::Optax,
    ])
}

/// SGD; nesterov only where it is valid.
fn sgd(
    lr: impl Strategy<Value = f64>,
    dampening: impl Strategy<Value = f64>,
) -> impl Strategy<Value = SgdConfig> {
    (
        lr,
        non_negative(2.0),
        dampening,
        decay(0.1),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(lr, momentum, dampening, weight_decay, nesterov, maximize)| {
                let nesterov = nesterov && momentum > 0.0;
                SgdConfig {
                    lr,
                    momentum,
                    dampening: if nesterov { 0.0 } else { dampening },
                    weight_decay,
                    nesterov,
                    maximize,
                }
            },
        )
}

fn adagrad(eps: impl Strategy<Value = f64>) -> impl Strategy<Value = AdagradConfig> {
    (
        non_negative(1.0),
        non_negative(1.0),
        decay(0.1),
        non_negative(1.0),
        eps,
        any::<bool>(),
    )
        .prop_map(
            |(lr, lr_decay, weight_decay, initial_accumulator_value, eps, maximize)| {
                AdagradConfig {
                    lr,
                    lr_decay,
                    weight_decay,
                    initial_accumulator_value,
                    eps,
                    maximize,
                }
            },
        )
}

fn rmsprop(
    alpha: impl Strategy<Value = f64>,
    eps: impl Strategy<Value = f64>,
) -> impl Strategy<Value = RmsPropConfig> {
    (
        non_negative(1.0),
        alpha,
        eps,
        decay(0.1),
        non_negative(2.0),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(lr, alpha, eps, weight_decay, momentum, centered, maximize)| RmsPropConfig {
                lr,
                alpha,
                eps,
                weight_decay,
                momentum,
                centered,
                maximize,
            },
        )
}

fn adadelta(
    rho: impl Strategy<Value = f64>,
    eps: impl Strategy<Value = f64>,
) -> impl Strategy<Value = AdadeltaConfig> {
    (non_negative(2.0), rho, eps, decay(0.1), any::<bool>()).prop_map(
        |(lr, rho, eps, weight_decay, maximize)| AdadeltaConfig {
            lr,
            rho,
            eps,
            weight_decay,
            maximize,
        },
    )
}

fn adam<B: Strategy<Value = f64>>(
    beta: impl Fn() -> B,
    eps: impl Strategy<Value = f64>,
) -> impl Strategy<Value = AdamConfig> {
    (
        non_negative(1.0),
        (beta(), beta()),
        eps,
        decay(0.1),
        amsgrad(),
        any::<bool>(),
    )
        .prop_map(
            |(lr, betas, eps, weight_decay, amsgrad, maximize)| AdamConfig {
                lr,
                betas,
                eps,
                weight_decay,
                amsgrad,
                maximize,
            },
        )
}

/// Rprop with `0 < etas[0] < 1 < etas[1]` and `0 < step_min <= step_max`,
/// including the boundary cases `etas = (1-, 1+)` and `step_min = step_max`.
fn rprop() -> impl Strategy<Value = RpropConfig> {
    (
        non_negative(1.0),
        prop_oneof![Just(ONE_DOWN), 0.01..0.99],
        prop_oneof![Just(ONE_UP), 1.01..3.0],
        1e-9..1e-2,
        prop_oneof![Just(0.0), 0.0..60.0],
        any::<bool>(),
    )
        .prop_map(
            |(lr, etaminus, etaplus, step_min, spread, maximize)| RpropConfig {
                lr,
                etas: (etaminus, etaplus),
                step_sizes: (step_min, step_min + spread),
                maximize,
            },
        )
}

fn asgd(lr: impl Strategy<Value = f64>, lambd: f64) -> impl Strategy<Value = AsgdConfig> {
    (
        lr,
        non_negative(lambd),
        non_negative(2.0),
        prop_oneof![Just(1e6), Just(0.0), -10.0..10.0],
        l2_decay(0.1),
        any::<bool>(),
    )
        .prop_map(
            |(lr, lambd, alpha, t0, weight_decay, maximize)| AsgdConfig {
                lr,
                lambd,
                alpha,
                t0,
                weight_decay,
                maximize,
            },
        )
}

fn adamax(
    lr: impl Strategy<Value = f64>,
    beta1: impl Strategy<Value = f64>,
    eps: impl Strategy<Value = f64>,
    decay: impl Strategy<Value = WeightDecay>,
) -> impl Strategy<Value = AdamaxConfig> {
    (lr, (beta1, unit_half_open()), eps, decay, any::<bool>()).prop_map(
        |(lr, betas, eps, weight_decay, maximize)| AdamaxConfig {
            lr,
            betas,
            eps,
            weight_decay,
            maximize,
        },
    )
}

fn nadam<B: Strategy<Value = f64>>(
    beta: impl Fn() -> B,
    eps: impl Strategy<Value = f64>,
) -> impl Strategy<Value = NAdamConfig> {
    (
        non_negative(1.0),
        (beta(), beta()),
        eps,
        decay(0.1),
        non_negative(1.0),
        any::<bool>(),
    )
        .prop_map(
            |(lr, betas, eps, weight_decay, momentum_decay, maximize)| NAdamConfig {
                lr,
                betas,
                eps,
                weight_decay,
                momentum_decay,
                maximize,
            },
        )
}

fn radam<B: Strategy<Value = f64>>(
    beta: impl Fn() -> B,
    eps: impl Strategy<Value = f64>,
) -> impl Strategy<Value = RAdamConfig> {
    (
        non_negative(1.0),
        (beta(), beta()),
        eps,
        decay(0.1),
        any::<bool>(),
    )
        .prop_map(|(lr, betas, eps, weight_decay, maximize)| RAdamConfig {
            lr,
            betas,
            eps,
            weight_decay,
            maximize,
        })
}

fn lion(
    lr: impl Strategy<Value = f64>,
    beta1: impl Strategy<Value = f64>,
    weight_decay: impl Strategy<Value = f64>,
) -> impl Strategy<Value = LionConfig> {
    (lr, (beta1, unit_closed()), weight_decay, any::<bool>()).prop_map(
        |(lr, betas, weight_decay, maximize)| LionConfig {
            lr,
            betas,
            weight_decay,
            maximize,
        },
    )
}

fn sparse_adam(
    lr: impl Strategy<Value = f64>,
    eps: impl Strategy<Value = f64>,
) -> impl Strategy<Value = SparseAdamConfig> {
    (lr, (unit_half_open(), unit_half_open()), eps, any::<bool>()).prop_map(
        |(lr, betas, eps, maximize)| SparseAdamConfig {
            lr,
            betas,
            eps,
            maximize,
        },
    )
}

/// Any optimizer over the whole of its valid ranges (boundaries included).
fn any_config() -> impl Strategy<Value = Config> {
    prop_oneof![
        sgd(non_negative(1.0), unit_closed()).prop_map(Config::Sgd),
        adagrad(non_negative(1e-2)).prop_map(Config::Adagrad),
        rmsprop(unit_closed(), non_negative(1e-2)).prop_map(Config::RmsProp),
        adadelta(unit_closed(), non_negative(1e-2)).prop_map(Config::Adadelta),
        adam(unit_half_open, non_negative(1e-2)).prop_map(Config::Adam),
        rprop().prop_map(Config::Rprop),
        asgd(non_negative(1.0), 1.0).prop_map(Config::Asgd),
        adamax(
            non_negative(1.0),
            unit_half_open(),
            non_negative(1e-2),
            l2_decay(0.1),
        )
        .prop_map(Config::Adamax),
        nadam(unit_half_open, non_negative(1e-2)).prop_map(Config::NAdam),
        radam(unit_half_open, non_negative(1e-2)).prop_map(Config::RAdam),
        lion(non_negative(1.0), unit_closed(), non_negative(0.1)).prop_map(Config::Lion),
        sparse_adam(positive(1.0), positive(1e-2)).prop_map(Config::SparseAdam),
    ]
}

// ------------------------------------------------------------------ cases

/// A parameter or gradient entry: zeros of both signs, and moderate values.
fn entry() -> impl Strategy<Value = f64> {
    prop_oneof![1 => Just(0.0), 1 => Just(-0.0), 8 => -10.0..10.0]
}

/// Parameters of length 1 to 6, a history of `min_history` to 6 gradients and one
/// more good gradient, all of that length.
fn case(min_history: usize) -> impl Strategy<Value = (Vec<f64>, Vec<Vec<f64>>, Vec<f64>)> {
    (1usize..=6).prop_flat_map(move |n| {
        (
            prop::collection::vec(entry(), n),
            prop::collection::vec(prop::collection::vec(entry(), n), min_history..=6),
            prop::collection::vec(entry(), n),
        )
    })
}

/// NaN (with either sign bit) and the infinities.
fn non_finite() -> impl Strategy<Value = f64> {
    prop::sample::select(vec![f64::NAN, -f64::NAN, f64::INFINITY, f64::NEG_INFINITY])
}

/// `m`, moved to `m + 1` if it equals `n`: a length different from `n`.
fn other_length(m: usize, n: usize) -> usize {
    if m >= n { m + 1 } else { m }
}

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        rng_seed: RngSeed::Fixed(0x5eed_0002),
        ..ProptestConfig::default()
    }
}

// ------------------------------------------------------------------ (d) overflow

/// Optimizers whose hyperparameters make an overflow certain, with the bad step
/// that overflows and the quantity that is reported.
///
/// - SGD: `lr >= 4`, dampening <= 1/2 and a gradient entry of `+-f64::MAX`: the
///   direction is at least `MAX / 2` in size (the first buffer is `g` itself, later
///   ones `(1 - dampening) g` plus a tiny remainder), so `lr d >= 2 MAX` and the
///   parameter overflows; it is checked first, so `"param"` is reported.
/// - AdaGrad, RMSprop, AdaDelta, Adam: a gradient entry of `+-1e200` with every
///   decay rate at most 0.999, so `(1 - rate) g^2 >= 1e-3 * 1e400` overflows the
///   squared-gradient buffer; the denominator becomes infinite, so the parameter
///   and the other buffers stay finite. `eps > 0` keeps the other coordinates away
///   from 0/0, so the overflowing coordinate is the first refused.
/// - Rprop: step sizes at least 1e300, larger than half an ulp of `f64::MAX`
///   (2^970 ~ 1e292), and a parameter at `-+f64::MAX` pushed outwards.
/// - ASGD: `lr >= 4`, `lambd <= 1e-3`, `alpha <= 2` and a gradient entry of
///   `+-f64::MAX`: after at most 6 steps `eta >= 4 / (1 + 8e-3 * 6)^2 > 3.6`, so
///   `eta g` overflows and `"param"` is reported.
/// - Adamax: `lr >= 1e160`, `beta1 <= 0.9`, `eps >= 1e-12`, no weight decay and a
///   gradient entry of `+-1e200`: `|m| >= 0.1 * 1e200 - 10`, so `clr m >= 1e359`
///   overflows and the parameter becomes infinite. Elsewhere `|m| <= 10` and
///   `u >= 1e-12`, so each step moves a parameter by at most
///   `10 * 1e161 * 10 / 1e-12 ~ 1e175`: the history and the other coordinates stay
///   finite. (With weight decay the history's huge parameters would feed the
///   gradient, so it is off here.)
/// - NAdam, RAdam: as Adam, a gradient entry of `+-1e200` with `beta2 <= 0.999`
///   overflows `exp_avg_sq`; the infinite denominator (or RAdam's unrectified
///   step, at most `lr |m / bc1| <= 1e200`) keeps the parameter finite.
/// - SparseAdam: a gradient entry of `+-1e200` is present, its square overflows,
///   and `v + (g^2 - v)(1 - beta2)` is infinite for every `beta2 < 1` (the factor
///   `1 - beta2` is at least `2^-53 > 0`); `m / inf = 0` keeps the parameter
///   finite, so `exp_avg_sq` is reported. `eps >= 1e-12` keeps every other
///   coordinate's step finite.
/// - Lion: `lr` in `[1e300, 1e301]`, `b1 <= 0.9`, no weight decay, a gradient
///   entry of `+-1e200` and that coordinate's parameter at `-+f64::MAX`, on the
///   side the step points away from. The momentum is an average of gradients of
///   size at most 10, so `|b1 m| <= 10` while `(1 - b1) |g| >= 1e199`: the sign
///   is the gradient's, and the parameter moves outwards by `lr`, more than half
///   an ulp of `f64::MAX` (`2^970 ~ 1e292`), so it overflows and `"param"` is
///   reported. A history of at most 6 steps moves the others by at most
///   `6e301`.
fn overflow_config() -> impl Strategy<Value = Config> {
    let eps = || 1e-12..1e-2;
    let rate = || prop_oneof![Just(0.0), 0.0..=0.999];
    prop_oneof![
        sgd(4.0..8.0, 0.0..=0.5).prop_map(Config::Sgd),
        adagrad(eps()).prop_map(Config::Adagrad),
        rmsprop(0.5..=0.999, eps()).prop_map(Config::RmsProp),
        adadelta(rate(), eps()).prop_map(Config::Adadelta),
        adam(rate, eps()).prop_map(Config::Adam),
        asgd(4.0..8.0, 1e-3).prop_map(Config::Asgd),
        adamax(
            1e160..1e161,
            prop_oneof![Just(0.0), 0.0..=0.9],
            eps(),
            Just(WeightDecay::None),
        )
        .prop_map(Config::Adamax),
        nadam(rate, eps()).prop_map(Config::NAdam),
        radam(rate, eps()).prop_map(Config::RAdam),
        sparse_adam(positive(1.0), eps()).prop_map(Config::SparseAdam),
        lion(1e300..1e301, prop_oneof![Just(0.0), 0.0..=0.9], Just(0.0)).prop_map(Config::Lion),
        (
            1e300..1e302,
            0.01..0.99,
            1.01..3.0,
            1e300..1e301,
            1e302..1e303,
            any::<bool>()
        )
            .prop_map(|(lr, etaminus, etaplus, step_min, step_max, maximize)| {
                Config::Rprop(RpropConfig {
                    lr,
                    etas: (etaminus, etaplus),
                    step_sizes: (step_min, step_max),
                    maximize,
                })
            }),
    ]
}

/// The gradient `good` with entry `k` replaced by `value`.
fn with_entry(good: &[f64], k: usize, value: f64) -> DVector<f64> {
    let mut g = DVector::from_column_slice(good);
    g[k] = value;
    g
}

fn overflow_step(
    config: Config,
    params: Vec<f64>,
    history: Vec<Vec<f64>>,
    good: Vec<f64>,
    k: Index,
    negative: bool,
) -> Result<(), TestCaseError> {
    let k = k.index(params.len());
    let sign = if negative { -1.0 } else { 1.0 };
    let refusal = |quantity| StepError::NonFiniteResult { index: k, quantity };
    let g = good.clone();
    match config {
        Config::Sgd(c) => check(c, params, history, good, |_, p| {
            Some((
                p.clone(),
                with_entry(&g, k, sign * f64::MAX),
                refusal("param"),
            ))
        }),
        Config::Adagrad(c) => check(c, params, history, good, |_, p| {
            Some((p.clone(), with_entry(&g, k, sign * HUGE), refusal("sum")))
        }),
        Config::RmsProp(c) => check(c, params, history, good, |_, p| {
            Some((
                p.clone(),
                with_entry(&g, k, sign * HUGE),
                refusal("square_avg"),
            ))
        }),
        Config::Adadelta(c) => check(c, params, history, good, |_, p| {
            Some((
                p.clone(),
                with_entry(&g, k, sign * HUGE),
                refusal("square_avg"),
            ))
        }),
        Config::Adam(c) => check(c, params, history, good, |_, p| {
            Some((
                p.clone(),
                with_entry(&g, k, sign * HUGE),
                refusal("exp_avg_sq"),
            ))
        }),
        Config::Asgd(c) => check(c, params, history, good, |_, p| {
            Some((
                p.clone(),
                with_entry(&g, k, sign * f64::MAX),
                refusal("param"),
            ))
        }),
        Config::Adamax(c) => check(c, params, history, good, |_, p| {
            Some((p.clone(), with_entry(&g, k, sign * HUGE), refusal("param")))
        }),
        Config::NAdam(c) => check(c, params, history, good, |_, p| {
            Some((
                p.clone(),
                with_entry(&g, k, sign * HUGE),
                refusal("exp_avg_sq"),
            ))
        }),
        Config::RAdam(c) => check(c, params, history, good, |_, p| {
            Some((
                p.clone(),
                with_entry(&g, k, sign * HUGE),
                refusal("exp_avg_sq"),
            ))
        }),
        Config::SparseAdam(c) => check(c, params, history, good, |_, p| {
            Some((
                p.clone(),
                with_entry(&g, k, sign * HUGE),
                refusal("exp_avg_sq"),
            ))
        }),
        Config::Lion(c) => check(c, params, history, good, |_, p| {
            // The step's sign is the effective gradient's (see above).
            let s = if c.maximize { -sign } else { sign };
            let mut bad_params = p.clone();
            bad_params[k] = -s * f64::MAX;
            Some((bad_params, with_entry(&g, k, sign * HUGE), refusal("param")))
        }),
        Config::Rprop(c) => check(c, params, history, good, |opt, p| {
            // The effective gradient must agree in sign with prev (else the step is
            // skipped); the parameter sits at the far end the step points away from.
            let prev = opt.state().map_or(0.0, |s| s.prev[k]);
            let s = if prev > 0.0 {
                1.0
            } else if prev < 0.0 {
                -1.0
            } else {
                sign
            };
            let raw = if c.maximize { -s } else { s };
            let mut bad_params = p.clone();
            bad_params[k] = -s * f64::MAX;
            let magnitude = g[k].abs().max(0.5);
            Some((
                bad_params,
                with_entry(&g, k, raw * magnitude),
                refusal("param"),
            ))
        }),
    }
}

// ------------------------------------------------------------------ properties

proptest! {
    #![proptest_config(config())]

    /// (a) A gradient of the wrong length (possibly also non-finite: the length is
    /// checked first).
    #[test]
    fn wrong_gradient_length(
        config in any_config(),
        (params, history, good) in case(0),
        m in 0usize..8,
        nan in any::<bool>(),
    ) {
        with_config!(config, |c| check(c, params, history, good, |_, p| {
            let n = p.len();
            let m = other_length(m, n);
            let mut g = DVector::from_element(m, 1.0);
            if nan && m > 0 {
                g[0] = f64::NAN;
            }
            Some((p.clone(), g, StepError::LengthMismatch { what: "grad", expected: n, found: m }))
        }))?;
    }

    /// (b) Parameters (and a gradient of their length) of a different length than
    /// the state. Only a state with per-coordinate buffers has a length: SGD
    /// without momentum keeps none, and neither does an optimizer before its
    /// first step; those cases are skipped.
    #[test]
    fn wrong_params_length(
        config in any_config(),
        (params, history, good) in case(1),
        m in 0usize..8,
        value in entry(),
    ) {
        with_config!(config, |c| check(c, params, history, good, |opt, _| {
            let n = opt.state().and_then(Buffers::coords)?;
            let m = other_length(m, n);
            Some((
                DVector::from_element(m, value),
                DVector::from_element(m, 1.0),
                StepError::LengthMismatch { what: "params", expected: n, found: m },
            ))
        }))?;
    }

    /// (c) NaN or an infinity at random coordinates: the first is reported, with
    /// its bits.
    #[test]
    fn non_finite_gradient(
        config in any_config(),
        (params, history, good) in case(0),
        first in (any::<Index>(), non_finite()),
        more in prop::collection::vec((any::<Index>(), non_finite()), 0..3),
    ) {
        let n = good.len();
        let mut g = DVector::from_column_slice(&good);
        for (i, v) in std::iter::once(first).chain(more) {
            g[i.index(n)] = v;
        }
        let index = g.iter().position(|x| !x.is_finite()).expect("one entry is bad");
        let expected = StepError::NonFiniteGradient { index, value: g[index] };
        with_config!(config, |c| check(c, params, history, good, |_, p| {
            Some((p.clone(), g, expected))
        }))?;
    }

    /// (d) A step that overflows a state buffer or a parameter.
    #[test]
    fn overflowing_step(
        config in overflow_config(),
        (params, history, good) in case(0),
        k in any::<Index>(),
        negative in any::<bool>(),
    ) {
        overflow_step(config, params, history, good, k, negative)?;
    }

    /// (e) A parameter that is already NaN or infinite cannot be stepped from:
    /// whatever the optimizer, the new parameter would not be finite. An earlier
    /// coordinate may be refused first (0/0 when eps = 0, for instance); then the
    /// error names that coordinate, and everything else is as in (a)-(d).
    #[test]
    fn non_finite_params(
        config in any_config(),
        (params, history, good) in case(0),
        k in any::<Index>(),
        value in non_finite(),
    ) {
        let k = k.index(params.len());
        let g = DVector::from_column_slice(&good);
        with_config!(config, |c| check(c, params, history, good, |opt, p| {
            let mut bad = p.clone();
            bad[k] = value;
            // Which coordinate is refused first: try the step on a copy.
            let mut probe = opt.clone();
            let mut probe_params = bad.clone();
            let expected = match probe.step(&mut probe_params, &g) {
                Err(e @ StepError::NonFiniteResult { index, quantity })
                    if index < k || (index == k && quantity == "param") => e,
                other => panic!("a non-finite parameter {k} gave {other:?}"),
            };
            Some((bad, g, expected))
        }))?;
    }
}

// ------------------------------------------------------------------ first steps

/// Every optimizer at its defaults and with every option that adds a buffer.
fn every_optimizer() -> Vec<Config> {
    let mut all = vec![
        Config::Sgd(SgdConfig::default()),
        Config::Sgd(SgdConfig {
            momentum: 0.9,
            nesterov: true,
            ..SgdConfig::default()
        }),
        Config::Adagrad(AdagradConfig::default()),
        Config::RmsProp(RmsPropConfig::default()),
        Config::RmsProp(RmsPropConfig {
            momentum: 0.9,
            centered: true,
            ..RmsPropConfig::default()
        }),
        Config::Adadelta(AdadeltaConfig::default()),
        Config::Rprop(RpropConfig::default()),
        Config::Asgd(AsgdConfig::default()),
        Config::Asgd(AsgdConfig {
            t0: 0.0,
            ..AsgdConfig::default()
        }),
        Config::Adamax(AdamaxConfig::default()),
        Config::NAdam(NAdamConfig::default()),
        Config::NAdam(NAdamConfig {
            weight_decay: WeightDecay::Decoupled(0.1),
            ..NAdamConfig::default()
        }),
        Config::RAdam(RAdamConfig::default()),
        Config::RAdam(RAdamConfig {
            weight_decay: WeightDecay::Decoupled(0.1),
            ..RAdamConfig::default()
        }),
        Config::Lion(LionConfig::default()),
        Config::SparseAdam(SparseAdamConfig::default()),
    ];
    for amsgrad in [
        Amsgrad::Off,
        Amsgrad::PyTorch,
        Amsgrad::Paper,
        Amsgrad::Optax,
    ] {
        all.push(Config::Adam(AdamConfig {
            amsgrad,
            ..AdamConfig::default()
        }));
        all.push(Config::Adam(AdamConfig {
            amsgrad,
            ..AdamConfig::adamw()
        }));
    }
    all
}

/// A refused first step leaves no state, and the next good step is a true first
/// step. Checked for a gradient of the wrong length, a non-finite gradient and an
/// overflow, so that this case does not rest on the random history being empty.
#[test]
fn refused_first_step_leaves_no_state() {
    fn first<R: Rule>(config: R, grad: DVector<f64>, params: DVector<f64>) {
        let mut opt = Optim::new(config.clone()).expect("valid");
        let mut p = params.clone();
        let err = opt.step(&mut p, &grad).expect_err("must be refused");
        assert!(opt.state().is_none(), "{err}: state created");
        assert_eq!(opt.steps_taken(), 0);
        let bits = |v: &DVector<f64>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&p), bits(&params), "{err}: params changed");
        // The next good step is a first step, as for a fresh optimizer.
        let mut fresh = Optim::new(config).expect("valid");
        let good = DVector::from_vec(vec![0.5, -0.25, 0.0]);
        let mut q = params.clone();
        opt.step(&mut p, &good).expect("good step");
        fresh.step(&mut q, &good).expect("good step");
        assert_eq!(bits(&p), bits(&q));
        assert_eq!(format!("{:?}", opt.state()), format!("{:?}", fresh.state()));
        assert_eq!(opt.steps_taken(), 1);
    }
    let params = DVector::from_vec(vec![1.0, -0.0, 3.0]);
    let bad_grads = [
        DVector::from_vec(vec![1.0, 2.0]),
        DVector::from_vec(vec![1.0, f64::NAN, 2.0]),
        DVector::from_vec(vec![1.0, f64::NEG_INFINITY, 2.0]),
    ];
    for config in every_optimizer() {
        for g in &bad_grads {
            with_config!(config, |c| first(c, g.clone(), params.clone()));
        }
    }
    // Overflows on the first step.
    let huge = DVector::from_vec(vec![1.0, HUGE, 2.0]);
    first(AdagradConfig::default(), huge.clone(), params.clone());
    first(RmsPropConfig::default(), huge.clone(), params.clone());
    first(AdadeltaConfig::default(), huge.clone(), params.clone());
    first(AdamConfig::default(), huge.clone(), params.clone());
    first(AdamConfig::adamw(), huge.clone(), params.clone());
    first(NAdamConfig::default(), huge.clone(), params.clone());
    first(RAdamConfig::default(), huge.clone(), params.clone());
    first(SparseAdamConfig::default(), huge.clone(), params.clone());
    let lion = LionConfig {
        lr: 1e300,
        weight_decay: 0.0,
        ..LionConfig::default()
    };
    first(
        lion,
        DVector::from_vec(vec![1.0, HUGE, 2.0]),
        DVector::from_vec(vec![1.0, -f64::MAX, 3.0]),
    );
    let adamax = AdamaxConfig {
        lr: 1e160,
        ..AdamaxConfig::default()
    };
    first(adamax, huge, params.clone());
    let asgd = AsgdConfig {
        lr: 4.0,
        ..AsgdConfig::default()
    };
    first(
        asgd,
        DVector::from_vec(vec![1.0, f64::MAX, 2.0]),
        params.clone(),
    );
    let sgd = SgdConfig {
        lr: 4.0,
        ..SgdConfig::default()
    };
    first(
        sgd,
        DVector::from_vec(vec![1.0, f64::MAX, 2.0]),
        params.clone(),
    );
    let rprop = RpropConfig {
        lr: 1e300,
        step_sizes: (1e300, 1e301),
        ..RpropConfig::default()
    };
    first(
        rprop,
        DVector::from_vec(vec![1.0, -1.0, -2.0]),
        DVector::from_vec(vec![1.0, -0.0, f64::MAX]),
    );
}

/// The error of a refused overflow names the coordinate and the buffer, in the
/// fields and in the message.
#[test]
fn overflow_error_names_coordinate_and_buffer() {
    let mut adam = Optim::new(AdamConfig::default()).expect("valid");
    let mut p = DVector::from_vec(vec![1.0, 2.0, 3.0]);
    let g = DVector::from_vec(vec![1.0, 2.0, -HUGE]);
    let e = adam.step(&mut p, &g).expect_err("overflow");
    assert_eq!(
        e,
        StepError::NonFiniteResult {
            index: 2,
            quantity: "exp_avg_sq"
        }
    );
    let text = e.to_string();
    assert!(text.contains("exp_avg_sq[2]"), "{text}");
}

/// SGD without momentum keeps no per-coordinate state, so (as in PyTorch) it has
/// no length to hold the parameters to: case (b) does not apply to it.
#[test]
fn sgd_without_momentum_has_no_length() {
    let mut sgd = Optim::new(SgdConfig::default()).expect("valid");
    let mut p = DVector::from_vec(vec![1.0, 2.0]);
    sgd.step(&mut p, &DVector::from_vec(vec![1.0, 1.0]))
        .expect("good");
    assert_eq!(sgd.state().and_then(Buffers::coords), None);
    let mut q = DVector::from_vec(vec![1.0, 2.0, 3.0]);
    sgd.step(&mut q, &DVector::from_vec(vec![1.0, 1.0, 1.0]))
        .expect("no length to contradict");
}

/// Centered RMSprop computes `v - gbar^2` with one fused multiply-add. Under a
/// constant gradient both averages tend to the same value and the rounded
/// difference can fall below 0, so the square root is NaN and the step is refused,
/// and every later step with the same gradient too: the optimizer would be stuck. With
/// `alpha = 0` this happens on the first step for about half of all gradients
/// (whenever `g * g` rounds down), e.g. `g = 0.1371`. The crate clamps the
/// difference at 0 before the square root, so it keeps stepping.
#[test]
fn centered_rmsprop_keeps_stepping_under_a_constant_gradient() {
    for (alpha, g) in [(0.0, 0.1371), (0.9, 0.1), (0.5, 0.1)] {
        let mut opt = Optim::new(RmsPropConfig {
            alpha,
            centered: true,
            ..RmsPropConfig::default()
        })
        .expect("valid");
        let mut p = DVector::from_vec(vec![1.0]);
        let g = DVector::from_vec(vec![g]);
        for t in 1..=2000 {
            if let Err(e) = opt.step(&mut p, &g) {
                panic!("alpha {alpha}, g {}: step {t} refused: {e}", g[0]);
            }
        }
    }
}
