//! The driver's two loops, compiled for the CPU's vector units and chosen at run
//! time.
//!
//! A plain `cargo build --release` targets the x86-64 baseline, which has neither
//! a fused multiply-add instruction nor vectors wider than 128 bits: there
//! `f64::mul_add` is a call into the C library's software `fma`. [`pulp`] compiles
//! each loop once more inside functions enabled for AVX2 + FMA (x86-64-v3) and for
//! AVX-512 (x86-64-v4), detects the CPU's features at run time, and calls the best
//! copy. The loop bodies are the rules' own [`Rule::apply`], inlined: the compiler
//! turns each `mul_add` into one `vfmadd` instruction and runs eight coordinates
//! per instruction (AVX-512, `f64`).
//!
//! Every copy computes the same bits. A fused multiply-add rounds once, whether in
//! hardware or in software; square root, division and the other operations are
//! correctly rounded IEEE 754 operations on every path; and Rust never contracts
//! `a * b + c` into a fused multiply-add on its own. The test below runs the best
//! copy and the portable fallback on random inputs and compares the bits.
//!
//! The crate stays free of `unsafe`: the one `unsafe` call (entering a function
//! compiled for features the CPU was just checked to have) lives in `pulp`.

use pulp::{Arch, Simd, WithSimd};

use super::{Buffers, CoordOf, Lanes, Rule, Scalar, Unswitched, WithLanes};

/// Which copy of the loops to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Path {
    /// The best instruction set the CPU has (detected at run time).
    Best,
    /// The portable x86-64 baseline (software `fma`), for the agreement test.
    #[cfg_attr(not(test), allow(dead_code))]
    Fallback,
}

/// Runs `op` on `path`.
#[inline(always)]
fn run<Op: WithSimd>(path: Path, op: Op) -> Op::Output {
    match path {
        Path::Best => Arch::new().dispatch(op),
        Path::Fallback => op.with_simd(pulp::Scalar::new()),
    }
}

/// A step over all coordinates, taken one of the two ways of [`Refusal`]: with
/// `staging` (the parameter backup and the spare state's lanes), the one pass of
/// [`Stage`]; without, the two passes of [`CheckFirst`]. Either way it reports
/// whether every gradient entry and every result was finite.
///
/// Every field is moved into the loop's function and copied into locals there
/// (the rule and its constants too): the compiler then knows that writing a
/// coordinate cannot change them, keeps them in registers, and can run the loop
/// on vectors. [`Rule::unswitch`] gives it one copy of the loop per
/// configuration, [`Lanes::unswitch`] one per set of present buffers, and cutting
/// every slice to `n` inside the function lets it drop the bounds checks.
///
/// [`Refusal`]: super::Refusal
struct Step<'a, S: Scalar, R: Rule<S>, L> {
    rule: &'a R,
    k: R::Step,
    params: &'a mut [S],
    grad: &'a [S],
    lanes: L,
    staging: Option<(&'a mut [S], L)>,
}

impl<S: Scalar, R: Rule<S>, L: Lanes<Coord = CoordOf<R, S>>> WithSimd for Step<'_, S, R, L> {
    type Output = bool;

    #[inline(always)]
    fn with_simd<V: Simd>(self, _simd: V) -> bool {
        let rule = self.rule;
        rule.unswitch(self)
    }
}

impl<S: Scalar, R: Rule<S>, L: Lanes<Coord = CoordOf<R, S>>> Unswitched<S, R>
    for Step<'_, S, R, L>
{
    type Output = bool;

    #[inline(always)]
    fn call(self, rule: &R) -> bool {
        let Step {
            k,
            params,
            grad,
            lanes,
            staging,
            ..
        } = self;
        let (rule, n) = (rule.clone(), params.len());
        let old = lanes.truncate(n);
        match staging {
            Some((backup, new)) => L::unswitch(
                old,
                Some(new.truncate(n)),
                Stage {
                    rule,
                    k,
                    params,
                    backup,
                    grad,
                },
            ),
            None => L::unswitch(
                old,
                None,
                CheckFirst {
                    rule,
                    k,
                    params,
                    grad,
                },
            ),
        }
    }
}

/// Whether one coordinate's step can be taken: its gradient entry, its new
/// parameter and its new state are all finite. Both ways of refusing use this
/// one test. `&`, not `&&`: no branch, so the loops around it run on vectors.
#[inline(always)]
fn takes<S: Scalar, R: Rule<S>>(g: S, next: S, c: &CoordOf<R, S>) -> bool {
    g.is_finite() & next.is_finite() & R::State::is_finite(c)
}

/// The one pass of [`Refusal::Stage`](super::Refusal::Stage): computes every
/// coordinate's step from the old parameters and the old state, copies each old
/// parameter to `backup`, writes the new parameter in place and the new state
/// into the spare lanes, and keeps a running "all finite" flag.
struct Stage<'a, S: Scalar, R: Rule<S>> {
    rule: R,
    k: R::Step,
    params: &'a mut [S],
    backup: &'a mut [S],
    grad: &'a [S],
}

impl<S: Scalar, R: Rule<S>> WithLanes<CoordOf<R, S>> for Stage<'_, S, R> {
    type Output = bool;

    #[inline(always)]
    fn call<L: Lanes<Coord = CoordOf<R, S>>>(self, old: L, new: Option<L>) -> bool {
        // `Step` always passes the spare's lanes when staging.
        let Some(new) = new else { return false };
        let Stage {
            rule,
            k,
            params,
            backup,
            grad,
        } = self;
        let n = params.len();
        let (grad, backup) = (&grad[..n], &mut backup[..n]);
        let (old, mut new) = (old.truncate(n), new.truncate(n));
        let mut finite = true;
        for i in 0..n {
            let (theta, g) = (params[i], grad[i]);
            let (next, c) = rule.apply(&k, theta, g, old.get(i));
            finite &= takes::<S, R>(g, next, &c);
            backup[i] = theta;
            params[i] = next;
            new.set(i, c);
        }
        finite
    }
}

/// The two passes of [`Refusal::CheckFirst`](super::Refusal::CheckFirst): the
/// first computes every coordinate's step from the old values, writes nothing
/// and finds whether every gradient entry and every result is finite; only if
/// so, the second computes the same steps again and writes them in place.
///
/// The checking loop has no branch and no early exit, so it runs on vectors; a
/// refused step is rare, and it pays for the whole first pass.
struct CheckFirst<'a, S: Scalar, R: Rule<S>> {
    rule: R,
    k: R::Step,
    params: &'a mut [S],
    grad: &'a [S],
}

impl<S: Scalar, R: Rule<S>> WithLanes<CoordOf<R, S>> for CheckFirst<'_, S, R> {
    type Output = bool;

    #[inline(always)]
    fn call<L: Lanes<Coord = CoordOf<R, S>>>(self, lanes: L, _new: Option<L>) -> bool {
        let CheckFirst {
            rule,
            k,
            params,
            grad,
        } = self;
        let n = params.len();
        let grad = &grad[..n];
        let mut lanes = lanes.truncate(n);
        let mut finite = true;
        for i in 0..n {
            let g = grad[i];
            let (next, c) = rule.apply(&k, params[i], g, lanes.get(i));
            finite &= takes::<S, R>(g, next, &c);
        }
        if !finite {
            return false;
        }
        for i in 0..n {
            let (next, c) = rule.apply(&k, params[i], grad[i], lanes.get(i));
            params[i] = next;
            lanes.set(i, c);
        }
        true
    }
}

/// Runs one step on `path`, staged if `staging` holds the parameter backup and
/// the spare state's lanes, checked first otherwise (see [`Step`]). Returns
/// whether every value was finite. If not, checking first wrote nothing, and
/// staging wrote the parameters (the caller copies `backup` back) and the spare
/// (which the caller discards). `grad`, the lanes and the backup have at least
/// `params.len()` entries.
pub(crate) fn step<'a, S: Scalar, R: Rule<S>, L: Lanes<Coord = CoordOf<R, S>>>(
    path: Path,
    rule: &R,
    k: &R::Step,
    params: &'a mut [S],
    grad: &'a [S],
    lanes: L,
    staging: Option<(&'a mut [S], L)>,
) -> bool {
    run(
        path,
        Step {
            rule,
            k: *k,
            params,
            grad,
            lanes,
            staging,
        },
    )
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::Path;
    use crate::optim::{
        AdadeltaConfig, AdagradConfig, AdamConfig, AdamaxConfig, Amsgrad, AsgdConfig, LionConfig,
        NAdamConfig, Optim, RAdamConfig, Refusal, RmsPropConfig, RpropConfig, Rule, SgdConfig,
        SparseAdamConfig, WeightDecay, step_all,
    };

    /// Gradients with a spread of magnitudes, some of them huge (so that squares
    /// overflow and steps are refused), a few exactly zero, and now and then a NaN.
    fn gradient(n: usize) -> impl Strategy<Value = Vec<f64>> {
        prop::collection::vec(
            prop_oneof![
                8 => -10.0..10.0f64,
                1 => -1e-3..1e-3f64,
                1 => Just(0.0),
                1 => Just(-0.0),
                1 => -1e200..1e200f64,
                1 => Just(f64::NAN),
            ],
            n,
        )
    }

    fn case() -> impl Strategy<Value = (Vec<f64>, Vec<Vec<f64>>)> {
        (1usize..40).prop_flat_map(|n| {
            (
                prop::collection::vec(-5.0..5.0f64, n),
                prop::collection::vec(gradient(n), 1..6),
            )
        })
    }

    /// Runs the same steps on the best path and on the fallback, and on the best
    /// path with the other way of refusing a step whole ([`Refusal`]); every
    /// outcome, parameter bit and state bit must agree.
    ///
    /// Breaks: making `Scalar::mul_add` compute `a * b + c` (two roundings) on the
    /// best path only, while the fallback kept `f64::mul_add`, made this test fail
    /// on its first case (seen 2026-11-30, then undone). Making the checking pass
    /// of `CheckFirst` ignore the state's finiteness made it fail too: an
    /// Adagrad sum that overflowed to infinity was then committed under
    /// `CheckFirst` while `Stage` refused the step (seen 2026-11-30, then undone;
    /// the case is kept in `dispatch.regressions`).
    fn agree<R: Rule + PartialEq>(
        config: R,
        theta: &[f64],
        grads: &[Vec<f64>],
    ) -> Result<(), TestCaseError> {
        let mut fast = Optim::new(config).expect("valid");
        let mut slow = fast.clone();
        let mut other = fast.clone();
        other.set_refusal(match fast.refusal() {
            Refusal::Stage => Refusal::CheckFirst,
            Refusal::CheckFirst => Refusal::Stage,
        });
        // And one that switches between the two at every step (the spare state
        // is dropped and built again).
        let mut mixed = fast.clone();
        let mut p = theta.to_vec();
        let mut q = theta.to_vec();
        let mut r = theta.to_vec();
        let mut s = theta.to_vec();
        let bits = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        for (i, g) in grads.iter().enumerate() {
            mixed.set_refusal([Refusal::Stage, Refusal::CheckFirst][i % 2]);
            let a = step_all(Path::Best, &mut fast, &mut p, g);
            let b = step_all(Path::Fallback, &mut slow, &mut q, g);
            let c = step_all(Path::Best, &mut other, &mut r, g);
            let d = step_all(Path::Best, &mut mixed, &mut s, g);
            for outcome in [&b, &c, &d] {
                prop_assert_eq!(format!("{a:?}"), format!("{outcome:?}"));
            }
            for x in [&q, &r, &s] {
                prop_assert_eq!(bits(&p), bits(x));
            }
            // Debug text tells -0.0 from 0.0, which `==` would not.
            for opt in [&slow.state, &other.state, &mixed.state] {
                prop_assert_eq!(format!("{:?}", fast.state), format!("{opt:?}"));
            }
        }
        Ok(())
    }

    proptest! {
        // A fixed seed; the case count follows PROPTEST_CASES (256 by default).
        #![proptest_config(ProptestConfig {
            failure_persistence: Some(Box::new(
                prop::test_runner::FileFailurePersistence::WithSource("regressions"),
            )),
            rng_seed: prop::test_runner::RngSeed::Fixed(0x5eed_d15c),
            ..ProptestConfig::default()
        })]

        #[test]
        fn best_path_and_fallback_agree_bit_for_bit((theta, grads) in case()) {
            let sgd = SgdConfig { lr: 0.1, momentum: 0.9, ..SgdConfig::default() };
            agree(SgdConfig::default(), &theta, &grads)?;
            agree(sgd, &theta, &grads)?;
            agree(SgdConfig { nesterov: true, weight_decay: WeightDecay::L2(0.1), ..sgd }, &theta, &grads)?;
            agree(SgdConfig { dampening: 0.3, weight_decay: WeightDecay::Decoupled(0.1), maximize: true, ..sgd }, &theta, &grads)?;
            agree(AdagradConfig { lr_decay: 0.01, weight_decay: WeightDecay::L2(0.01), ..AdagradConfig::default() }, &theta, &grads)?;
            agree(AdagradConfig { weight_decay: WeightDecay::Decoupled(0.01), ..AdagradConfig::default() }, &theta, &grads)?;
            agree(RmsPropConfig::default(), &theta, &grads)?;
            agree(RmsPropConfig { centered: true, momentum: 0.9, weight_decay: WeightDecay::L2(0.01), ..RmsPropConfig::default() }, &theta, &grads)?;
            agree(RmsPropConfig { centered: true, alpha: 0.0, maximize: true, ..RmsPropConfig::default() }, &theta, &grads)?;
            agree(AdadeltaConfig { weight_decay: WeightDecay::Decoupled(0.1), ..AdadeltaConfig::default() }, &theta, &grads)?;
            agree(AdamConfig::default(), &theta, &grads)?;
            agree(AdamConfig { eps: 0.0, weight_decay: WeightDecay::L2(0.1), ..AdamConfig::default() }, &theta, &grads)?;
            for amsgrad in [Amsgrad::PyTorch, Amsgrad::Paper, Amsgrad::Optax] {
                agree(AdamConfig { amsgrad, maximize: true, ..AdamConfig::adamw() }, &theta, &grads)?;
            }
            agree(RpropConfig::default(), &theta, &grads)?;
            agree(RpropConfig { maximize: true, ..RpropConfig::default() }, &theta, &grads)?;
            agree(AsgdConfig { t0: 2.0, weight_decay: WeightDecay::L2(0.01), ..AsgdConfig::default() }, &theta, &grads)?;
            agree(AdamaxConfig { maximize: true, ..AdamaxConfig::default() }, &theta, &grads)?;
            agree(NAdamConfig { weight_decay: WeightDecay::Decoupled(0.1), ..NAdamConfig::default() }, &theta, &grads)?;
            agree(RAdamConfig { betas: (0.9, 0.9), ..RAdamConfig::default() }, &theta, &grads)?;
            agree(LionConfig::default(), &theta, &grads)?;
            // SparseAdam's zero entries take the early return, in a vectorized loop.
            agree(SparseAdamConfig::default(), &theta, &grads)?;
            agree(SparseAdamConfig { maximize: true, eps: 1e-3, ..SparseAdamConfig::default() }, &theta, &grads)?;
        }
    }
}
