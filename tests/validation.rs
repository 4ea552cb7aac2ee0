//! Hyperparameter validation: every range of every optimizer is checked on both
//! sides of each boundary, with NaN and the infinities, and every refusal must name
//! the parameter (in the `param` field and in the message). The defaults must be
//! PyTorch's and must build.

use descent::HyperError;
use descent::optim::{
    Adadelta, AdadeltaConfig, Adagrad, AdagradConfig, Adam, AdamConfig, Adamax, AdamaxConfig,
    Amsgrad, Asgd, AsgdConfig, NAdam, NAdamConfig, RAdam, RAdamConfig, RmsProp, RmsPropConfig,
    Rprop, RpropConfig, Sgd, SgdConfig, WeightDecay,
};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};

/// The smallest positive double (subnormal): the first value above 0.
const TINY: f64 = 5e-324;
/// The first double above 1.
const ONE_UP: f64 = 1.0000000000000002;
/// The last double below 1.
const ONE_DOWN: f64 = 0.9999999999999999;
/// Refused by every range: every range here requires a finite value.
const NON_FINITE: [f64; 3] = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY];

/// What a built optimizer is reduced to here: accepted or the error.
type Built = Result<(), HyperError>;

fn sgd(c: SgdConfig) -> Built {
    Sgd::new(c).map(drop)
}
fn adagrad(c: AdagradConfig) -> Built {
    Adagrad::new(c).map(drop)
}
fn rmsprop(c: RmsPropConfig) -> Built {
    RmsProp::new(c).map(drop)
}
fn adadelta(c: AdadeltaConfig) -> Built {
    Adadelta::new(c).map(drop)
}
fn adam(c: AdamConfig) -> Built {
    Adam::new(c).map(drop)
}
fn rprop(c: RpropConfig) -> Built {
    Rprop::new(c).map(drop)
}
fn asgd(c: AsgdConfig) -> Built {
    Asgd::new(c).map(drop)
}
fn adamax(c: AdamaxConfig) -> Built {
    Adamax::new(c).map(drop)
}
fn nadam(c: NAdamConfig) -> Built {
    NAdam::new(c).map(drop)
}
fn radam(c: RAdamConfig) -> Built {
    RAdam::new(c).map(drop)
}
fn sparse_adam(c: descent::optim::SparseAdamConfig) -> Built {
    descent::optim::SparseAdam::new(c).map(drop)
}
fn lion(c: descent::optim::LionConfig) -> Built {
    descent::optim::Lion::new(c).map(drop)
}
fn adafactor(c: descent::optim::AdafactorConfig) -> Built {
    descent::optim::Adafactor::new(c, Some([2, 3])).map(drop)
}
fn muon(c: descent::optim::MuonConfig) -> Built {
    descent::optim::Muon::new(c, [2, 3]).map(drop)
}

/// A valid range, stated independently of the library's own checks.
#[derive(Clone, Copy, Debug)]
enum Range {
    /// `[0, inf)`, finite.
    NonNegative,
    /// `[0, 1]`.
    UnitClosed,
    /// `[0, 1)`.
    UnitHalfOpen,
    /// `(0, 1)`: Rprop's `etas[0]`.
    UnitOpen,
    /// `(1, inf)`, finite: Rprop's `etas[1]`.
    AboveOne,
    /// `(0, inf)`, finite: Rprop's `step_sizes[0]` (with `step_sizes[1]` at `f64::MAX`,
    /// so that the order of the pair never decides).
    Positive,
    /// `[1e-6, inf)`, finite: Rprop's `step_sizes[1]` with `step_sizes[0]` at its default.
    AtLeastDefaultStepMin,
    /// Any finite value: ASGD's `t0` (PyTorch also takes NaN and the infinities).
    Finite,
}

impl Range {
    fn contains(self, x: f64) -> bool {
        x.is_finite()
            && match self {
                Range::NonNegative => x >= 0.0,
                Range::UnitClosed => (0.0..=1.0).contains(&x),
                Range::UnitHalfOpen => (0.0..1.0).contains(&x),
                Range::UnitOpen => x > 0.0 && x < 1.0,
                Range::AboveOne => x > 1.0,
                Range::Positive => x > 0.0,
                Range::AtLeastDefaultStepMin => x >= 1e-6,
                Range::Finite => true,
            }
    }

    /// Values that must be accepted: the closed boundaries themselves, the first
    /// values inside the open ones, and values well inside.
    fn inside(self) -> Vec<f64> {
        match self {
            // -0.0 compares equal to 0.0, so `0 <= -0.0` holds, as in PyTorch's checks.
            Range::NonNegative => vec![0.0, -0.0, TINY, 1.0, 1e300, f64::MAX],
            Range::UnitClosed => vec![0.0, -0.0, TINY, 0.5, ONE_DOWN, 1.0],
            Range::UnitHalfOpen => vec![0.0, -0.0, TINY, 0.5, ONE_DOWN],
            Range::UnitOpen => vec![TINY, 0.5, ONE_DOWN],
            Range::AboveOne => vec![ONE_UP, 1.2, f64::MAX],
            Range::Positive => vec![TINY, 1e-6, 50.0, f64::MAX],
            Range::AtLeastDefaultStepMin => vec![1e-6, 1e-6_f64.next_up(), 50.0, f64::MAX],
            Range::Finite => vec![f64::MIN, -1.0, -0.0, 0.0, 1e6, f64::MAX],
        }
    }

    /// Values that must be refused: the open boundaries themselves, the first
    /// values outside the closed ones, and values well outside (NaN and the
    /// infinities are added by the caller).
    fn outside(self) -> Vec<f64> {
        match self {
            Range::NonNegative => vec![-TINY, -1.0, f64::MIN],
            Range::UnitClosed => vec![-TINY, ONE_UP, -1.0, 2.0],
            Range::UnitHalfOpen => vec![-TINY, 1.0, ONE_UP, -1.0],
            Range::UnitOpen => vec![0.0, -0.0, -TINY, 1.0, ONE_UP],
            Range::AboveOne => vec![1.0, ONE_DOWN, 0.0, -2.0],
            Range::Positive => vec![0.0, -0.0, -TINY, -1.0],
            Range::AtLeastDefaultStepMin => vec![1e-6_f64.next_down(), 0.0, -1.0],
            Range::Finite => vec![],
        }
    }
}

/// One hyperparameter of one optimizer: the others stay at their defaults.
struct Knob {
    optimizer: &'static str,
    param: &'static str,
    range: Range,
    build: fn(f64) -> Built,
}

/// Every hyperparameter range of every optimizer.
fn knobs() -> Vec<Knob> {
    use Range::*;
    use descent::optim::{AdafactorConfig, LionConfig, MuonConfig, SparseAdamConfig};
    let k = |optimizer, param, range, build| Knob {
        optimizer,
        param,
        range,
        build,
    };
    vec![
        // SGD
        k("sgd", "lr", NonNegative, |x| {
            sgd(SgdConfig {
                lr: x,
                ..SgdConfig::default()
            })
        }),
        k("sgd", "momentum", NonNegative, |x| {
            sgd(SgdConfig {
                momentum: x,
                ..SgdConfig::default()
            })
        }),
        k("sgd", "dampening", UnitClosed, |x| {
            sgd(SgdConfig {
                dampening: x,
                ..SgdConfig::default()
            })
        }),
        k("sgd", "weight_decay", NonNegative, |x| {
            sgd(SgdConfig {
                weight_decay: WeightDecay::L2(x),
                ..SgdConfig::default()
            })
        }),
        k("sgd", "weight_decay", NonNegative, |x| {
            sgd(SgdConfig {
                weight_decay: WeightDecay::Decoupled(x),
                ..SgdConfig::default()
            })
        }),
        // AdaGrad
        k("adagrad", "lr", NonNegative, |x| {
            adagrad(AdagradConfig {
                lr: x,
                ..AdagradConfig::default()
            })
        }),
        k("adagrad", "lr_decay", NonNegative, |x| {
            adagrad(AdagradConfig {
                lr_decay: x,
                ..AdagradConfig::default()
            })
        }),
        k("adagrad", "weight_decay", NonNegative, |x| {
            adagrad(AdagradConfig {
                weight_decay: WeightDecay::L2(x),
                ..AdagradConfig::default()
            })
        }),
        k("adagrad", "weight_decay", NonNegative, |x| {
            adagrad(AdagradConfig {
                weight_decay: WeightDecay::Decoupled(x),
                ..AdagradConfig::default()
            })
        }),
        k("adagrad", "initial_accumulator_value", NonNegative, |x| {
            adagrad(AdagradConfig {
                initial_accumulator_value: x,
                ..AdagradConfig::default()
            })
        }),
        k("adagrad", "eps", NonNegative, |x| {
            adagrad(AdagradConfig {
                eps: x,
                ..AdagradConfig::default()
            })
        }),
        // RMSprop
        k("rmsprop", "lr", NonNegative, |x| {
            rmsprop(RmsPropConfig {
                lr: x,
                ..RmsPropConfig::default()
            })
        }),
        k("rmsprop", "alpha", UnitClosed, |x| {
            rmsprop(RmsPropConfig {
                alpha: x,
                ..RmsPropConfig::default()
            })
        }),
        k("rmsprop", "eps", NonNegative, |x| {
            rmsprop(RmsPropConfig {
                eps: x,
                ..RmsPropConfig::default()
            })
        }),
        k("rmsprop", "weight_decay", NonNegative, |x| {
            rmsprop(RmsPropConfig {
                weight_decay: WeightDecay::L2(x),
                ..RmsPropConfig::default()
            })
        }),
        k("rmsprop", "weight_decay", NonNegative, |x| {
            rmsprop(RmsPropConfig {
                weight_decay: WeightDecay::Decoupled(x),
                ..RmsPropConfig::default()
            })
        }),
        k("rmsprop", "momentum", NonNegative, |x| {
            rmsprop(RmsPropConfig {
                momentum: x,
                ..RmsPropConfig::default()
            })
        }),
        // AdaDelta
        k("adadelta", "lr", NonNegative, |x| {
            adadelta(AdadeltaConfig {
                lr: x,
                ..AdadeltaConfig::default()
            })
        }),
        k("adadelta", "rho", UnitClosed, |x| {
            adadelta(AdadeltaConfig {
                rho: x,
                ..AdadeltaConfig::default()
            })
        }),
        k("adadelta", "eps", NonNegative, |x| {
            adadelta(AdadeltaConfig {
                eps: x,
                ..AdadeltaConfig::default()
            })
        }),
        k("adadelta", "weight_decay", NonNegative, |x| {
            adadelta(AdadeltaConfig {
                weight_decay: WeightDecay::L2(x),
                ..AdadeltaConfig::default()
            })
        }),
        k("adadelta", "weight_decay", NonNegative, |x| {
            adadelta(AdadeltaConfig {
                weight_decay: WeightDecay::Decoupled(x),
                ..AdadeltaConfig::default()
            })
        }),
        // Adam (AdamW and AMSGrad share its checks)
        k("adam", "lr", NonNegative, |x| {
            adam(AdamConfig {
                lr: x,
                ..AdamConfig::default()
            })
        }),
        k("adam", "betas[0]", UnitHalfOpen, |x| {
            adam(AdamConfig {
                betas: (x, 0.999),
                ..AdamConfig::default()
            })
        }),
        k("adam", "betas[1]", UnitHalfOpen, |x| {
            adam(AdamConfig {
                betas: (0.9, x),
                ..AdamConfig::default()
            })
        }),
        k("adam", "eps", NonNegative, |x| {
            adam(AdamConfig {
                eps: x,
                ..AdamConfig::default()
            })
        }),
        k("adam", "weight_decay", NonNegative, |x| {
            adam(AdamConfig {
                weight_decay: WeightDecay::L2(x),
                ..AdamConfig::default()
            })
        }),
        k("adam", "weight_decay", NonNegative, |x| {
            adam(AdamConfig {
                weight_decay: WeightDecay::Decoupled(x),
                ..AdamConfig::adamw()
            })
        }),
        k("adam", "lr", NonNegative, |x| {
            adam(AdamConfig {
                lr: x,
                amsgrad: Amsgrad::PyTorch,
                ..AdamConfig::adamw()
            })
        }),
        // Rprop
        k("rprop", "lr", NonNegative, |x| {
            rprop(RpropConfig {
                lr: x,
                ..RpropConfig::default()
            })
        }),
        k("rprop", "etas[0]", UnitOpen, |x| {
            rprop(RpropConfig {
                etas: (x, 1.2),
                ..RpropConfig::default()
            })
        }),
        k("rprop", "etas[1]", AboveOne, |x| {
            rprop(RpropConfig {
                etas: (0.5, x),
                ..RpropConfig::default()
            })
        }),
        k("rprop", "step_sizes[0]", Positive, |x| {
            rprop(RpropConfig {
                step_sizes: (x, f64::MAX),
                ..RpropConfig::default()
            })
        }),
        k("rprop", "step_sizes[1]", AtLeastDefaultStepMin, |x| {
            rprop(RpropConfig {
                step_sizes: (1e-6, x),
                ..RpropConfig::default()
            })
        }),
        // ASGD
        k("asgd", "lr", NonNegative, |x| {
            asgd(AsgdConfig {
                lr: x,
                ..AsgdConfig::default()
            })
        }),
        k("asgd", "lambd", NonNegative, |x| {
            asgd(AsgdConfig {
                lambd: x,
                ..AsgdConfig::default()
            })
        }),
        k("asgd", "alpha", NonNegative, |x| {
            asgd(AsgdConfig {
                alpha: x,
                ..AsgdConfig::default()
            })
        }),
        k("asgd", "t0", Finite, |x| {
            asgd(AsgdConfig {
                t0: x,
                ..AsgdConfig::default()
            })
        }),
        k("asgd", "weight_decay", NonNegative, |x| {
            asgd(AsgdConfig {
                weight_decay: WeightDecay::L2(x),
                ..AsgdConfig::default()
            })
        }),
        // Adamax
        k("adamax", "lr", NonNegative, |x| {
            adamax(AdamaxConfig {
                lr: x,
                ..AdamaxConfig::default()
            })
        }),
        k("adamax", "betas[0]", UnitHalfOpen, |x| {
            adamax(AdamaxConfig {
                betas: (x, 0.999),
                ..AdamaxConfig::default()
            })
        }),
        k("adamax", "betas[1]", UnitHalfOpen, |x| {
            adamax(AdamaxConfig {
                betas: (0.9, x),
                ..AdamaxConfig::default()
            })
        }),
        k("adamax", "eps", NonNegative, |x| {
            adamax(AdamaxConfig {
                eps: x,
                ..AdamaxConfig::default()
            })
        }),
        k("adamax", "weight_decay", NonNegative, |x| {
            adamax(AdamaxConfig {
                weight_decay: WeightDecay::L2(x),
                ..AdamaxConfig::default()
            })
        }),
        // NAdam
        k("nadam", "lr", NonNegative, |x| {
            nadam(NAdamConfig {
                lr: x,
                ..NAdamConfig::default()
            })
        }),
        k("nadam", "betas[0]", UnitHalfOpen, |x| {
            nadam(NAdamConfig {
                betas: (x, 0.999),
                ..NAdamConfig::default()
            })
        }),
        k("nadam", "betas[1]", UnitHalfOpen, |x| {
            nadam(NAdamConfig {
                betas: (0.9, x),
                ..NAdamConfig::default()
            })
        }),
        k("nadam", "eps", NonNegative, |x| {
            nadam(NAdamConfig {
                eps: x,
                ..NAdamConfig::default()
            })
        }),
        k("nadam", "momentum_decay", NonNegative, |x| {
            nadam(NAdamConfig {
                momentum_decay: x,
                ..NAdamConfig::default()
            })
        }),
        k("nadam", "weight_decay", NonNegative, |x| {
            nadam(NAdamConfig {
                weight_decay: WeightDecay::L2(x),
                ..NAdamConfig::default()
            })
        }),
        k("nadam", "weight_decay", NonNegative, |x| {
            nadam(NAdamConfig {
                weight_decay: WeightDecay::Decoupled(x),
                ..NAdamConfig::default()
            })
        }),
        // RAdam
        k("radam", "lr", NonNegative, |x| {
            radam(RAdamConfig {
                lr: x,
                ..RAdamConfig::default()
            })
        }),
        k("radam", "betas[0]", UnitHalfOpen, |x| {
            radam(RAdamConfig {
                betas: (x, 0.999),
                ..RAdamConfig::default()
            })
        }),
        k("radam", "betas[1]", UnitHalfOpen, |x| {
            radam(RAdamConfig {
                betas: (0.9, x),
                ..RAdamConfig::default()
            })
        }),
        k("radam", "eps", NonNegative, |x| {
            radam(RAdamConfig {
                eps: x,
                ..RAdamConfig::default()
            })
        }),
        k("radam", "weight_decay", NonNegative, |x| {
            radam(RAdamConfig {
                weight_decay: WeightDecay::L2(x),
                ..RAdamConfig::default()
            })
        }),
        k("radam", "weight_decay", NonNegative, |x| {
            radam(RAdamConfig {
                weight_decay: WeightDecay::Decoupled(x),
                ..RAdamConfig::default()
            })
        }),
        // SparseAdam: PyTorch requires lr > 0 and eps > 0, strictly.
        k("sparseadam", "lr", Positive, |x| {
            sparse_adam(SparseAdamConfig {
                lr: x,
                ..SparseAdamConfig::default()
            })
        }),
        k("sparseadam", "eps", Positive, |x| {
            sparse_adam(SparseAdamConfig {
                eps: x,
                ..SparseAdamConfig::default()
            })
        }),
        k("sparseadam", "betas[0]", UnitHalfOpen, |x| {
            sparse_adam(SparseAdamConfig {
                betas: (x, 0.999),
                ..SparseAdamConfig::default()
            })
        }),
        k("sparseadam", "betas[1]", UnitHalfOpen, |x| {
            sparse_adam(SparseAdamConfig {
                betas: (0.9, x),
                ..SparseAdamConfig::default()
            })
        }),
        // Lion, Adafactor and Muon (PyTorch's ranges; Lion's are the crate's).
        k("lion", "lr", NonNegative, |x| {
            lion(LionConfig {
                lr: x,
                ..LionConfig::default()
            })
        }),
        k("lion", "betas[0]", UnitClosed, |x| {
            lion(LionConfig {
                betas: (x, 0.99),
                ..LionConfig::default()
            })
        }),
        k("lion", "betas[1]", UnitClosed, |x| {
            lion(LionConfig {
                betas: (0.9, x),
                ..LionConfig::default()
            })
        }),
        k("lion", "weight_decay", NonNegative, |x| {
            lion(LionConfig {
                weight_decay: x,
                ..LionConfig::default()
            })
        }),
        k("adafactor", "lr", NonNegative, |x| {
            adafactor(AdafactorConfig {
                lr: x,
                ..AdafactorConfig::default()
            })
        }),
        k("adafactor", "eps[0]", NonNegative, |x| {
            adafactor(AdafactorConfig {
                eps: (Some(x), 1e-3),
                ..AdafactorConfig::default()
            })
        }),
        k("adafactor", "eps[1]", NonNegative, |x| {
            adafactor(AdafactorConfig {
                eps: (None, x),
                ..AdafactorConfig::default()
            })
        }),
        k("adafactor", "weight_decay", NonNegative, |x| {
            adafactor(AdafactorConfig {
                weight_decay: x,
                ..AdafactorConfig::default()
            })
        }),
        k("muon", "lr", NonNegative, |x| {
            muon(MuonConfig {
                lr: x,
                ..MuonConfig::default()
            })
        }),
        k("muon", "weight_decay", NonNegative, |x| {
            muon(MuonConfig {
                weight_decay: x,
                ..MuonConfig::default()
            })
        }),
        k("muon", "momentum", NonNegative, |x| {
            muon(MuonConfig {
                momentum: x,
                ..MuonConfig::default()
            })
        }),
        k("muon", "eps", NonNegative, |x| {
            muon(MuonConfig {
                eps: x,
                ..MuonConfig::default()
            })
        }),
    ]
}

/// Asserts that `built` is a refusal of `value` naming `optimizer` and `param`, in
/// the fields and in the message, with the value reported exactly.
fn assert_refused(built: Built, optimizer: &str, param: &str, value: f64) {
    let e = match built {
        Err(e) => e,
        Ok(()) => panic!("{optimizer}: {param} = {value:?} was accepted"),
    };
    assert_eq!(e.optimizer, optimizer, "{e}");
    assert_eq!(e.param, param, "{e}");
    let text = e.to_string();
    assert!(
        text.contains(param),
        "message does not name {param}: {text}"
    );
    assert!(
        text.contains(optimizer),
        "message does not name {optimizer}: {text}"
    );
    assert!(!e.range.is_empty(), "{text}");
    assert!(text.contains(e.range), "message lacks the range: {text}");
    assert!(text.contains(&e.value), "message lacks the value: {text}");
    // The reported value is the refused one, exactly (NaN has no sign to keep).
    let reported: f64 = e
        .value
        .parse()
        .unwrap_or_else(|_| panic!("value {:?} is not a number", e.value));
    if value.is_nan() {
        assert!(reported.is_nan(), "{text}");
    } else {
        assert_eq!(reported.to_bits(), value.to_bits(), "{text}");
    }
}

fn assert_accepted(built: Built, optimizer: &str, param: &str, value: f64) {
    if let Err(e) = built {
        panic!("{optimizer}: {param} = {value:?} was refused: {e}");
    }
}

#[test]
fn every_range_accepts_its_inside_and_refuses_its_outside() {
    for knob in knobs() {
        for x in knob.range.inside() {
            assert!(
                knob.range.contains(x),
                "test table: {x:?} for {}",
                knob.param
            );
            assert_accepted((knob.build)(x), knob.optimizer, knob.param, x);
        }
        for x in knob.range.outside().into_iter().chain(NON_FINITE) {
            assert!(
                !knob.range.contains(x),
                "test table: {x:?} for {}",
                knob.param
            );
            assert_refused((knob.build)(x), knob.optimizer, knob.param, x);
        }
    }
}

#[test]
fn every_optimizer_and_parameter_has_a_range_test() {
    // The table covers every (optimizer, parameter) pair of the brief; a knob lost
    // from the table would make this fail.
    let expected = [
        ("sgd", "lr"),
        ("sgd", "momentum"),
        ("sgd", "dampening"),
        ("sgd", "weight_decay"),
        ("adagrad", "lr"),
        ("adagrad", "lr_decay"),
        ("adagrad", "weight_decay"),
        ("adagrad", "initial_accumulator_value"),
        ("adagrad", "eps"),
        ("rmsprop", "lr"),
        ("rmsprop", "alpha"),
        ("rmsprop", "eps"),
        ("rmsprop", "weight_decay"),
        ("rmsprop", "momentum"),
        ("adadelta", "lr"),
        ("adadelta", "rho"),
        ("adadelta", "eps"),
        ("adadelta", "weight_decay"),
        ("adam", "lr"),
        ("adam", "betas[0]"),
        ("adam", "betas[1]"),
        ("adam", "eps"),
        ("adam", "weight_decay"),
        ("rprop", "lr"),
        ("rprop", "etas[0]"),
        ("rprop", "etas[1]"),
        ("rprop", "step_sizes[0]"),
        ("rprop", "step_sizes[1]"),
        ("asgd", "lr"),
        ("asgd", "lambd"),
        ("asgd", "alpha"),
        ("asgd", "t0"),
        ("asgd", "weight_decay"),
        ("adamax", "lr"),
        ("adamax", "betas[0]"),
        ("adamax", "betas[1]"),
        ("adamax", "eps"),
        ("adamax", "weight_decay"),
        ("nadam", "lr"),
        ("nadam", "betas[0]"),
        ("nadam", "betas[1]"),
        ("nadam", "eps"),
        ("nadam", "momentum_decay"),
        ("nadam", "weight_decay"),
        ("radam", "lr"),
        ("radam", "betas[0]"),
        ("radam", "betas[1]"),
        ("radam", "eps"),
        ("radam", "weight_decay"),
        ("sparseadam", "lr"),
        ("sparseadam", "eps"),
        ("sparseadam", "betas[0]"),
        ("sparseadam", "betas[1]"),
    ];
    let table = knobs();
    for (optimizer, param) in expected {
        assert!(
            table
                .iter()
                .any(|k| k.optimizer == optimizer && k.param == param),
            "no range test for {optimizer} {param}"
        );
    }
}

// ---------------------------------------------------------------- nesterov

fn nesterov(momentum: f64, dampening: f64) -> Built {
    sgd(SgdConfig {
        momentum,
        dampening,
        nesterov: true,
        ..SgdConfig::default()
    })
}

#[test]
fn nesterov_needs_positive_momentum() {
    for momentum in [0.0, -0.0] {
        let e = nesterov(momentum, 0.0).unwrap_err();
        assert_eq!((e.optimizer, e.param), ("sgd", "nesterov"), "{e}");
        assert!(e.to_string().contains("nesterov"), "{e}");
        assert!(e.to_string().contains("momentum"), "{e}");
    }
    for momentum in [TINY, 0.9, 1.0, f64::MAX] {
        assert_accepted(nesterov(momentum, 0.0), "sgd", "nesterov", momentum);
    }
    // A bad momentum is reported as momentum, not as nesterov.
    for momentum in [-TINY, f64::NAN, f64::INFINITY] {
        assert_refused(nesterov(momentum, 0.0), "sgd", "momentum", momentum);
    }
}

#[test]
fn nesterov_needs_zero_dampening() {
    // -0.0 == 0.0, so it counts as zero dampening.
    for dampening in [0.0, -0.0] {
        assert_accepted(nesterov(0.9, dampening), "sgd", "nesterov", dampening);
    }
    for dampening in [TINY, 0.5, 1.0] {
        let e = nesterov(0.9, dampening).unwrap_err();
        assert_eq!((e.optimizer, e.param), ("sgd", "nesterov"), "{e}");
        assert!(e.to_string().contains("nesterov"), "{e}");
        assert!(e.to_string().contains("dampening"), "{e}");
    }
    // Without nesterov the same values are fine.
    let plain = sgd(SgdConfig {
        momentum: 0.0,
        dampening: 1.0,
        ..SgdConfig::default()
    });
    assert_accepted(plain, "sgd", "nesterov", 0.0);
}

// ---------------------------------------------------------------- rprop step sizes

fn step_sizes(min: f64, max: f64) -> Built {
    rprop(RpropConfig {
        step_sizes: (min, max),
        ..RpropConfig::default()
    })
}

#[test]
fn step_sizes_must_be_ordered() {
    for x in [TINY, 1e-6, 1.0, f64::MAX] {
        assert_accepted(step_sizes(x, x), "rprop", "step_sizes[1]", x);
    }
    for x in [2.0 * TINY, 1e-6, 1.0, f64::MAX] {
        let below = x.next_down();
        assert_refused(step_sizes(x, below), "rprop", "step_sizes[1]", below);
    }
    // Both bad: the first one is named.
    assert_refused(step_sizes(0.0, -1.0), "rprop", "step_sizes[0]", 0.0);
    assert_refused(
        step_sizes(f64::NAN, 1.0),
        "rprop",
        "step_sizes[0]",
        f64::NAN,
    );
}

#[test]
fn etas_must_straddle_one() {
    for (lo, hi) in [(ONE_DOWN, ONE_UP), (TINY, f64::MAX), (0.5, 1.2)] {
        let built = rprop(RpropConfig {
            etas: (lo, hi),
            ..RpropConfig::default()
        });
        assert_accepted(built, "rprop", "etas", lo);
    }
    let swapped = rprop(RpropConfig {
        etas: (1.2, 0.5),
        ..RpropConfig::default()
    });
    assert_refused(swapped, "rprop", "etas[0]", 1.2);
}

// ---------------------------------------------------------------- property

/// Boundary values and their neighbours, the special values, and everything else.
fn any_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        prop::sample::select(vec![
            0.0,
            -0.0,
            TINY,
            -TINY,
            1.0,
            ONE_UP,
            ONE_DOWN,
            -1.0,
            1e-6,
            1e-6_f64.next_down(),
            f64::MAX,
            f64::MIN,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ]),
        -2.0..2.0,
        proptest::num::f64::ANY,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        rng_seed: RngSeed::Fixed(0x5eed_0001),
        ..ProptestConfig::default()
    })]

    /// For every hyperparameter and any double, the optimizer builds exactly when
    /// the value lies in the range stated above, and a refusal names the parameter.
    #[test]
    fn accepted_exactly_inside_the_range(x in any_value()) {
        for knob in knobs() {
            let built = (knob.build)(x);
            if knob.range.contains(x) {
                assert_accepted(built, knob.optimizer, knob.param, x);
            } else {
                assert_refused(built, knob.optimizer, knob.param, x);
            }
        }
    }
}

// ---------------------------------------------------------------- defaults

#[test]
fn defaults_are_pytorchs_and_build() {
    let sgd_d = SgdConfig::default();
    assert_eq!(
        sgd_d,
        SgdConfig {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: WeightDecay::None,
            nesterov: false,
            maximize: false,
        }
    );
    assert!(Sgd::new(sgd_d).is_ok());

    let adagrad_d = AdagradConfig::default();
    assert_eq!(
        adagrad_d,
        AdagradConfig {
            lr: 1e-2,
            lr_decay: 0.0,
            weight_decay: WeightDecay::None,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
            maximize: false,
        }
    );
    assert!(Adagrad::new(adagrad_d).is_ok());

    let rmsprop_d = RmsPropConfig::default();
    assert_eq!(
        rmsprop_d,
        RmsPropConfig {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: WeightDecay::None,
            momentum: 0.0,
            centered: false,
            maximize: false,
        }
    );
    assert!(RmsProp::new(rmsprop_d).is_ok());

    let adadelta_d = AdadeltaConfig::default();
    assert_eq!(
        adadelta_d,
        AdadeltaConfig {
            lr: 1.0,
            rho: 0.9,
            eps: 1e-6,
            weight_decay: WeightDecay::None,
            maximize: false,
        }
    );
    assert!(Adadelta::new(adadelta_d).is_ok());

    let adam_d = AdamConfig::default();
    assert_eq!(
        adam_d,
        AdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: WeightDecay::None,
            amsgrad: Amsgrad::Off,
            maximize: false,
        }
    );
    assert!(Adam::new(adam_d).is_ok());

    let adamw_d = AdamConfig::adamw();
    assert_eq!(
        adamw_d,
        AdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: WeightDecay::Decoupled(1e-2),
            amsgrad: Amsgrad::Off,
            maximize: false,
        }
    );
    assert!(Adam::new(adamw_d).is_ok());

    let rprop_d = RpropConfig::default();
    assert_eq!(
        rprop_d,
        RpropConfig {
            lr: 1e-2,
            etas: (0.5, 1.2),
            step_sizes: (1e-6, 50.0),
            maximize: false,
        }
    );
    assert!(Rprop::new(rprop_d).is_ok());

    let asgd_d = AsgdConfig::default();
    assert_eq!(
        asgd_d,
        AsgdConfig {
            lr: 1e-2,
            lambd: 1e-4,
            alpha: 0.75,
            t0: 1e6,
            weight_decay: WeightDecay::None,
            maximize: false,
        }
    );
    assert!(Asgd::new(asgd_d).is_ok());

    let adamax_d = AdamaxConfig::default();
    assert_eq!(
        adamax_d,
        AdamaxConfig {
            lr: 2e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: WeightDecay::None,
            maximize: false,
        }
    );
    assert!(Adamax::new(adamax_d).is_ok());

    // PyTorch 2.15's SparseAdam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False).
    let sparse_d = descent::optim::SparseAdamConfig::default();
    assert_eq!(
        sparse_d,
        descent::optim::SparseAdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            maximize: false,
        }
    );
    assert!(descent::optim::SparseAdam::new(sparse_d).is_ok());

    let nadam_d = NAdamConfig::default();
    assert_eq!(
        nadam_d,
        NAdamConfig {
            lr: 2e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: WeightDecay::None,
            momentum_decay: 4e-3,
            maximize: false,
        }
    );
    assert!(NAdam::new(nadam_d).is_ok());

    let radam_d = RAdamConfig::default();
    assert_eq!(
        radam_d,
        RAdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: WeightDecay::None,
            maximize: false,
        }
    );
    assert!(RAdam::new(radam_d).is_ok());

    // The zero defaults are +0.0, not -0.0 (== would not tell them apart).
    for zero in [
        sgd_d.momentum,
        sgd_d.dampening,
        adagrad_d.lr_decay,
        adagrad_d.initial_accumulator_value,
        rmsprop_d.momentum,
    ] {
        assert_eq!(zero.to_bits(), 0.0_f64.to_bits());
    }
    assert_eq!(WeightDecay::default(), WeightDecay::None);
    assert_eq!(Amsgrad::default(), Amsgrad::Off);
}

/// ASGD and Adamax have only PyTorch's L2 `weight_decay`: a decoupled decay is
/// refused, naming `weight_decay`, rather than silently applied as L2.
#[test]
fn asgd_and_adamax_refuse_decoupled_decay() {
    let e = Asgd::new(AsgdConfig {
        weight_decay: WeightDecay::Decoupled(0.1),
        ..AsgdConfig::default()
    })
    .unwrap_err();
    assert_eq!((e.optimizer, e.param), ("asgd", "weight_decay"), "{e}");
    let e = Adamax::new(AdamaxConfig {
        weight_decay: WeightDecay::Decoupled(0.1),
        ..AdamaxConfig::default()
    })
    .unwrap_err();
    assert_eq!((e.optimizer, e.param), ("adamax", "weight_decay"), "{e}");
}

#[test]
fn every_amsgrad_variant_and_decay_builds_from_the_defaults() {
    for amsgrad in [
        Amsgrad::Off,
        Amsgrad::PyTorch,
        Amsgrad::Paper,
        Amsgrad::Optax,
    ] {
        for base in [AdamConfig::default(), AdamConfig::adamw()] {
            assert!(Adam::new(AdamConfig { amsgrad, ..base }).is_ok());
        }
    }
}
