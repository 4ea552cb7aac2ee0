//! The declaration of an optimizer's state, written once for all optimizers.
//!
//! Every first-order optimizer keeps a state: the number of steps taken, maybe
//! a few running scalars, and one vector per buffer, named as PyTorch names it
//! (Adam's `exp_avg` and `exp_avg_sq`, AdaGrad's `sum`). The driver reads and
//! writes the buffers through the traits [`Buffers`](super::Buffers) and
//! [`Lanes`](super::Lanes), and that code is the same for every optimizer but
//! for the names: a struct for the state, a struct for one coordinate, a struct
//! of slices for the loop, and the impls that move values between them. The
//! macro [`state!`] writes it from the names alone.
//!
//! For a state with an optional buffer (Adam's `max_exp_avg_sq`, RMSprop's
//! `momentum_buffer` and `grad_avg`, SGD's `momentum_buffer`) the macro
//! declares the state struct alone; the rest is written by hand in the
//! optimizer's file: such lanes carry a type parameter per optional buffer and
//! have a [`Lanes::unswitch`](super::Lanes::unswitch) of their own.

/// Declares an optimizer's state, its coordinate and its lanes, and implements
/// [`Buffers`](super::Buffers) and [`Lanes`](super::Lanes) for them.
///
/// The input reads like the state's declaration: the state struct with its
/// step counter and any running scalars (`name: type`, kept as they are), then
/// the buffers, each a `DVector<S>` named as PyTorch names it. Doc comments and
/// other attributes written on a field are kept on it (Lion renames its buffer
/// for serde this way). With one buffer the coordinate is the scalar `S` and the
/// lanes a plain `&mut [S]`; with several, write `buffers XCoord, XLanes { ... }`
/// and the macro declares both structs. A coordinate field's doc is
/// "Entry of `name`." unless a string in parentheses after the buffer's name
/// gives another.
///
/// A last section `optional buffers { ... }` adds buffers that the state may
/// lack, each an `Option<DVector<S>>`, after the others. A state with optional
/// buffers gets its struct only: its coordinate, lanes and impls are written
/// by hand next to it (the first section is then `buffers { ... }`, without
/// names, or absent).
///
/// It keeps what checkpoints depend on: the state is serialized (feature
/// `serde`) with PyTorch's field names, each buffer as a JSON array
/// (`checkpoint::vector`), an optional one as an array or `null`, a missing one
/// read as absent (`checkpoint::opt_vector`), and unknown fields are refused. A
/// non-finite value of a buffer is reported under the buffer's name
/// ([`Buffers::non_finite`](super::Buffers::non_finite)).
///
/// AdaDelta's state is written
///
/// ```text
/// state! {
///     /// The state of AdaDelta, with PyTorch's buffer names.
///     pub struct AdadeltaState {
///         /// Steps taken.
///         step,
///     }
///     buffers AdadeltaCoord, AdadeltaLanes {
///         /// The moving average `v` of squared gradients.
///         square_avg,
///         /// The moving average `u` of squared updates.
///         acc_delta,
///     }
/// }
/// ```
///
/// and the macro expands it to the following (paths shortened; `DVector` is
/// nalgebra's, the traits and `first_non_finite` are this module's parent's):
///
/// ```text
/// /// The state of AdaDelta, with PyTorch's buffer names.
/// #[derive(Clone, Debug, PartialEq)]
/// #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
/// #[cfg_attr(feature = "serde", serde(deny_unknown_fields, bound(
///     serialize = "S: serde::Serialize",
///     deserialize = "S: serde::Deserialize<'de>")))]
/// pub struct AdadeltaState<S: Scalar = f64> {
///     /// Steps taken.
///     pub step: u64,
///     /// The moving average `v` of squared gradients.
///     #[cfg_attr(feature = "serde", serde(with = "crate::optim::checkpoint::vector"))]
///     pub square_avg: DVector<S>,
///     /// The moving average `u` of squared updates.
///     #[cfg_attr(feature = "serde", serde(with = "crate::optim::checkpoint::vector"))]
///     pub acc_delta: DVector<S>,
/// }
///
/// /// One coordinate of [`AdadeltaState`].
/// #[derive(Clone, Copy, Debug, PartialEq)]
/// pub struct AdadeltaCoord<S = f64> {
///     /// Entry of `square_avg`.
///     pub square_avg: S,
///     /// Entry of `acc_delta`.
///     pub acc_delta: S,
/// }
///
/// /// The buffers of [`AdadeltaState`] as slices, for the driver's loop.
/// #[derive(Debug)]
/// pub struct AdadeltaLanes<'a, S> {
///     /// `square_avg`.
///     pub square_avg: &'a mut [S],
///     /// `acc_delta`.
///     pub acc_delta: &'a mut [S],
/// }
///
/// impl<S: Scalar> Lanes for AdadeltaLanes<'_, S> {
///     type Coord = AdadeltaCoord<S>;
///     #[inline(always)]
///     fn truncate(self, n: usize) -> Self {
///         AdadeltaLanes {
///             square_avg: &mut self.square_avg[..n],
///             acc_delta: &mut self.acc_delta[..n],
///         }
///     }
///     #[inline(always)]
///     fn get(&self, i: usize) -> AdadeltaCoord<S> {
///         AdadeltaCoord {
///             square_avg: self.square_avg[i],
///             acc_delta: self.acc_delta[i],
///         }
///     }
///     #[inline(always)]
///     fn set(&mut self, i: usize, c: AdadeltaCoord<S>) {
///         self.square_avg[i] = c.square_avg;
///         self.acc_delta[i] = c.acc_delta;
///     }
/// }
///
/// impl<S: Scalar> Buffers for AdadeltaState<S> {
///     type Scalar = S;
///     type Coord = AdadeltaCoord<S>;
///     type Lanes<'a> = AdadeltaLanes<'a, S>;
///     fn coords(&self) -> Option<usize> {
///         Some(self.square_avg.len()) // the first buffer's length
///     }
///     fn step(&self) -> u64 {
///         self.step
///     }
///     fn set_step(&mut self, t: u64) {
///         self.step = t;
///     }
///     fn get(&self, i: usize) -> AdadeltaCoord<S> {
///         AdadeltaCoord {
///             square_avg: self.square_avg[i],
///             acc_delta: self.acc_delta[i],
///         }
///     }
///     fn set(&mut self, i: usize, c: AdadeltaCoord<S>) {
///         self.square_avg[i] = c.square_avg;
///         self.acc_delta[i] = c.acc_delta;
///     }
///     fn lanes(&mut self) -> AdadeltaLanes<'_, S> {
///         AdadeltaLanes {
///             square_avg: self.square_avg.as_mut_slice(),
///             acc_delta: self.acc_delta.as_mut_slice(),
///         }
///     }
///     fn non_finite(c: &AdadeltaCoord<S>) -> Option<&'static str> {
///         first_non_finite(&[("square_avg", c.square_avg), ("acc_delta", c.acc_delta)])
///     }
/// }
/// ```
///
/// The lanes index plain slices, as [`Lanes`](super::Lanes) does for `&mut [S]`,
/// and are inlined into the driver's loop: the loop is the one a hand-written
/// state would give. With one buffer (AdaGrad's `sum`), the input is
/// `buffers { sum }`, no coordinate or lanes struct is declared, and
/// the impl of `Buffers` reads and writes `self.sum[i]` and hands out
/// `self.sum.as_mut_slice()`, whose `Lanes` impl is in the parent module.
macro_rules! state {
    // The input. Declares the state struct, then passes the names to
    // `@buffers`, which declares the rest: nothing with optional buffers (the
    // bracket after the state's name holds the names of the coordinate and
    // lanes structs, the next one the optional buffers), or the impls for one
    // buffer, or the structs and impls for several.
    (
        $(#[$attr:meta])*
        $vis:vis struct $state:ident {
            $(#[$step_attr:meta])*
            step
            $(, $(#[$scalar_attr:meta])* $scalar:ident : $scalar_ty:ty)*
            $(,)?
        }
        $(buffers $($coord:ident, $lanes:ident)? {
            $($(#[$buffer_attr:meta])* $buffer:ident $(($entry:literal))?),*
            $(,)?
        })?
        $(optional buffers {
            $($(#[$optional_attr:meta])* $optional:ident),+
            $(,)?
        })?
    ) => {
        $(#[$attr])*
        #[derive(Clone, Debug, PartialEq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        #[cfg_attr(
            feature = "serde",
            serde(
                deny_unknown_fields,
                bound(
                    serialize = "S: serde::Serialize",
                    deserialize = "S: serde::Deserialize<'de>"
                )
            )
        )]
        $vis struct $state<S: $crate::optim::Scalar = f64> {
            $(#[$step_attr])*
            pub step: u64,
            $(
                $(#[$scalar_attr])*
                pub $scalar: $scalar_ty,
            )*
            $($(
                $(#[$buffer_attr])*
                #[cfg_attr(feature = "serde", serde(with = "crate::optim::checkpoint::vector"))]
                pub $buffer: ::nalgebra::DVector<S>,
            )*)?
            $($(
                $(#[$optional_attr])*
                #[cfg_attr(
                    feature = "serde",
                    serde(default, with = "crate::optim::checkpoint::opt_vector")
                )]
                pub $optional: Option<::nalgebra::DVector<S>>,
            )+)?
        }

        $crate::optim::state::state! {
            @buffers $vis $state
            [$($($coord $lanes)?)?]
            [$($($optional)+)?]
            $($($buffer $(($entry))?),*)?
        }
    };

    // Optional buffers: the struct alone, the rest is written by hand.
    (@buffers $vis:vis $state:ident [$($name:ident)*] [$($optional:ident)+] $($rest:tt)*) => {};

    // One buffer: the coordinate is `S` and the lanes are `&mut [S]`.
    (@buffers $vis:vis $state:ident [] [] $buffer:ident) => {
        impl<S: $crate::optim::Scalar> $crate::optim::Buffers for $state<S> {
            type Scalar = S;
            type Coord = S;
            type Lanes<'a> = &'a mut [S];
            fn coords(&self) -> Option<usize> {
                Some(self.$buffer.len())
            }
            fn step(&self) -> u64 {
                self.step
            }
            fn set_step(&mut self, t: u64) {
                self.step = t;
            }
            fn get(&self, i: usize) -> S {
                self.$buffer[i]
            }
            fn set(&mut self, i: usize, c: S) {
                self.$buffer[i] = c;
            }
            fn lanes(&mut self) -> &mut [S] {
                self.$buffer.as_mut_slice()
            }
            fn non_finite(c: &S) -> Option<&'static str> {
                $crate::optim::first_non_finite(&[(stringify!($buffer), *c)])
            }
        }
    };

    // Several buffers: a coordinate struct and a lanes struct.
    (
        @buffers $vis:vis $state:ident [$coord:ident $lanes:ident] []
        $($buffer:ident $(($entry:literal))?),+
    ) => {
        #[doc = concat!("One coordinate of [`", stringify!($state), "`].")]
        #[derive(Clone, Copy, Debug, PartialEq)]
        $vis struct $coord<S = f64> {
            $(
                #[doc = $crate::optim::state::state!(@entry $buffer $($entry)?)]
                pub $buffer: S,
            )+
        }

        #[doc = concat!(
            "The buffers of [`", stringify!($state), "`] as slices, for the driver's loop."
        )]
        #[derive(Debug)]
        $vis struct $lanes<'a, S> {
            $(
                #[doc = concat!("`", stringify!($buffer), "`.")]
                pub $buffer: &'a mut [S],
            )+
        }

        impl<S: $crate::optim::Scalar> $crate::optim::Lanes for $lanes<'_, S> {
            type Coord = $coord<S>;
            #[inline(always)]
            fn truncate(self, n: usize) -> Self {
                $lanes { $($buffer: &mut self.$buffer[..n]),+ }
            }
            #[inline(always)]
            fn get(&self, i: usize) -> $coord<S> {
                $coord { $($buffer: self.$buffer[i]),+ }
            }
            #[inline(always)]
            fn set(&mut self, i: usize, c: $coord<S>) {
                $(self.$buffer[i] = c.$buffer;)+
            }
        }

        impl<S: $crate::optim::Scalar> $crate::optim::Buffers for $state<S> {
            type Scalar = S;
            type Coord = $coord<S>;
            type Lanes<'a> = $lanes<'a, S>;
            $crate::optim::state::state!(@coords $($buffer)+);
            fn step(&self) -> u64 {
                self.step
            }
            fn set_step(&mut self, t: u64) {
                self.step = t;
            }
            fn get(&self, i: usize) -> $coord<S> {
                $coord { $($buffer: self.$buffer[i]),+ }
            }
            fn set(&mut self, i: usize, c: $coord<S>) {
                $(self.$buffer[i] = c.$buffer;)+
            }
            fn lanes(&mut self) -> $lanes<'_, S> {
                $lanes { $($buffer: self.$buffer.as_mut_slice()),+ }
            }
            fn non_finite(c: &$coord<S>) -> Option<&'static str> {
                $crate::optim::first_non_finite(&[$((stringify!($buffer), c.$buffer)),+])
            }
        }
    };

    // `coords`: the length of the first buffer (all have the same).
    (@coords $first:ident $($rest:ident)*) => {
        fn coords(&self) -> Option<usize> {
            Some(self.$first.len())
        }
    };

    // The doc of a coordinate's field: the one given, or "Entry of `name`.".
    (@entry $buffer:ident) => {
        concat!("Entry of `", stringify!($buffer), "`.")
    };
    (@entry $buffer:ident $doc:literal) => {
        $doc
    };
}

pub(crate) use state;
