//! The one table of the command line: every optimizer and problem, with a
//! one-line description and the flags (for `run`) or `hyper` keys (for
//! `replay`) it takes. `descent run`'s parser and its help text are both made
//! from it ([`super::run_command`]); `replay`'s [`crate::replay::OPTIMIZERS`]
//! and [`crate::replay::keys`] and `run`'s [`crate::run::OPTIMIZERS`] and
//! [`crate::run::PROBLEMS`] are checked equal to it by `tests/cli.rs`.

/// Where an optimizer can be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// `replay` and `run`.
    Both,
    /// `replay` only (Muon needs a matrix parameter, which `run` does not give;
    /// the others are not wired into `run` yet).
    Replay,
    /// `run` only (second-order methods, which need exact derivatives).
    Run,
}

/// One optimizer.
#[derive(Clone, Copy, Debug)]
pub struct OptimizerEntry {
    /// Its name, as `--optimizer` and a request's `optimizer` spell it.
    pub name: &'static str,
    /// What it is, in one line.
    pub about: &'static str,
    /// Its flags (`run`) and `hyper` keys (`replay`): PyTorch's constructor
    /// arguments for the first-order ones.
    pub flags: &'static [&'static str],
    /// Where it can be used.
    pub reach: Reach,
    /// Defaults and ranges of its flags, for the help text (may be empty).
    pub details: &'static str,
}

/// One problem of `descent run`.
#[derive(Clone, Copy, Debug)]
pub struct ProblemEntry {
    /// Its name, as `--problem` spells it.
    pub name: &'static str,
    /// What it is, in one line.
    pub about: &'static str,
    /// Its flags.
    pub flags: &'static [&'static str],
    /// Its default start `x0`, as the help text shows it.
    pub x0: &'static str,
    /// Defaults and ranges of its flags, for the help text (may be empty).
    pub details: &'static str,
}

/// Every optimizer, first-order ones first.
pub const OPTIMIZERS: &[OptimizerEntry] = &[
    OptimizerEntry {
        name: "sgd",
        about: "SGD with momentum, dampening and Nesterov",
        flags: &[
            "lr",
            "momentum",
            "dampening",
            "weight_decay",
            "nesterov",
            "maximize",
        ],
        reach: Reach::Both,
        details: "",
    },
    OptimizerEntry {
        name: "adagrad",
        about: "AdaGrad: rates shrink with the summed squared gradients",
        flags: &[
            "lr",
            "lr_decay",
            "weight_decay",
            "initial_accumulator_value",
            "eps",
            "maximize",
        ],
        reach: Reach::Both,
        details: "",
    },
    OptimizerEntry {
        name: "rmsprop",
        about: "RMSprop, optionally centered and with momentum",
        flags: &[
            "lr",
            "alpha",
            "eps",
            "weight_decay",
            "momentum",
            "centered",
            "maximize",
        ],
        reach: Reach::Both,
        details: "",
    },
    OptimizerEntry {
        name: "adadelta",
        about: "AdaDelta: a unit-matched ratio of two running averages",
        flags: &["lr", "rho", "eps", "weight_decay", "maximize"],
        reach: Reach::Both,
        details: "",
    },
    OptimizerEntry {
        name: "adam",
        about: "Adam (L2 weight decay; AMSGrad with --amsgrad true)",
        flags: &[
            "lr",
            "betas",
            "eps",
            "weight_decay",
            "amsgrad",
            "maximize",
            "decoupled_weight_decay",
        ],
        reach: Reach::Both,
        details: "",
    },
    OptimizerEntry {
        name: "adamw",
        about: "AdamW: Adam with decoupled weight decay (default 1e-2)",
        flags: &["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"],
        reach: Reach::Both,
        details: "",
    },
    OptimizerEntry {
        name: "rprop",
        about: "Rprop: per-coordinate step sizes driven by gradient signs",
        flags: &["lr", "etas", "step_sizes", "maximize"],
        reach: Reach::Both,
        details: "",
    },
    OptimizerEntry {
        name: "asgd",
        about: "averaged SGD: decaying steps and a running average of the iterates",
        flags: &["lr", "lambd", "alpha", "t0", "weight_decay", "maximize"],
        reach: Reach::Replay,
        details: "",
    },
    OptimizerEntry {
        name: "adamax",
        about: "Adamax: Adam with an infinity-norm second moment",
        flags: &["lr", "betas", "eps", "weight_decay", "maximize"],
        reach: Reach::Replay,
        details: "",
    },
    OptimizerEntry {
        name: "nadam",
        about: "NAdam: Adam with Nesterov momentum and a momentum schedule",
        flags: &[
            "lr",
            "betas",
            "eps",
            "weight_decay",
            "momentum_decay",
            "decoupled_weight_decay",
            "maximize",
        ],
        reach: Reach::Replay,
        details: "",
    },
    OptimizerEntry {
        name: "radam",
        about: "RAdam: Adam whose adaptive step is rectified while v is noisy",
        flags: &[
            "lr",
            "betas",
            "eps",
            "weight_decay",
            "decoupled_weight_decay",
            "maximize",
        ],
        reach: Reach::Replay,
        details: "",
    },
    OptimizerEntry {
        name: "lion",
        about: "Lion (Optax's semantics): the sign of a momentum mix",
        flags: &["lr", "betas", "weight_decay", "maximize"],
        reach: Reach::Replay,
        details: "",
    },
    OptimizerEntry {
        name: "adafactor",
        about: "Adafactor: a matrix's second moment kept as row and column averages",
        flags: &["lr", "beta2_decay", "eps", "d", "weight_decay", "maximize"],
        reach: Reach::Replay,
        details: "",
    },
    OptimizerEntry {
        name: "muon",
        about: "Muon: momentum orthogonalized by Newton-Schulz (a matrix parameter)",
        flags: &[
            "lr",
            "weight_decay",
            "momentum",
            "nesterov",
            "ns_coefficients",
            "eps",
            "ns_steps",
            "adjust_lr_fn",
        ],
        reach: Reach::Replay,
        details: "",
    },
    OptimizerEntry {
        name: "sparseadam",
        about: "SparseAdam: Adam updating only the gradient's nonzero entries",
        flags: &["lr", "betas", "eps", "maximize"],
        reach: Reach::Replay,
        details: "",
    },
    OptimizerEntry {
        name: "newton",
        about: "full-Hessian Newton, Cholesky solve",
        flags: &["damping", "line_search", "lr"],
        reach: Reach::Run,
        details: "--damping L|none  Levenberg-Marquardt from lambda0 = L (default 1e-3),\n\
                  \x20                 or none: refuse a non-positive-definite Hessian\n\
                  --line_search true|false  Armijo backtracking (default false)\n\
                  --lr S            step length (default 1)",
    },
    OptimizerEntry {
        name: "diagonal",
        about: "Becker-LeCun: x_i -= lr g_i / (|H_ii| + mu)",
        flags: &["lr", "mu"],
        reach: Reach::Run,
        details: "--lr (default 1)  --mu (default 1e-4)",
    },
    OptimizerEntry {
        name: "secant",
        about: "diagonal curvature from consecutive gradients",
        flags: &["lr0", "lr", "mu"],
        reach: Reach::Run,
        details: "--lr0 first-step rate (default 1e-3)  --lr (default 1)  --mu floor (default 1e-8)",
    },
    OptimizerEntry {
        name: "vsgd",
        about: "per-coordinate rates gbar^2/(h vbar)",
        flags: &["tau0", "mu", "curvature"],
        reach: Reach::Run,
        details: "--tau0 (default 10)  --mu (default 1e-8)  --curvature averaged|exact",
    },
    OptimizerEntry {
        name: "natural",
        about: "damped natural gradient with the model's exact Fisher (models only)",
        flags: &["lr", "damping"],
        reach: Reach::Run,
        details: "theta += lr d, (F + damping I) d = -grad (Cholesky solve); probabilistic\n\
                  models only (logistic, softmax, least_squares, gaussian, gaussian_std)\n\
                  --lr (default 1)  --damping lambda, >= 0 (default 1e-3)",
    },
    OptimizerEntry {
        name: "lbfgs",
        about: "L-BFGS with PyTorch's semantics (one step = one step(closure))",
        flags: &[
            "lr",
            "max_iter",
            "max_eval",
            "tolerance_grad",
            "tolerance_change",
            "history_size",
            "line_search_fn",
        ],
        reach: Reach::Run,
        details: "--lr (default 1)  --max_iter (default 20)\n\
                  --max_eval (default max_iter * 5 / 4)  --tolerance_grad (default 1e-7)\n\
                  --tolerance_change (default 1e-9)  --history_size (default 100)\n\
                  --line_search_fn strong_wolfe|none (default none)",
    },
];

/// Every problem of `descent run`: plain objectives, then probabilistic models.
pub const PROBLEMS: &[ProblemEntry] = &[
    ProblemEntry {
        name: "quadratic",
        about: "x'Ax/2, A a fixed 2-D rotation of diag(1, cond)",
        flags: &["cond"],
        x0: "1,1",
        details: "--cond C      condition number, >= 1 (default 100)",
    },
    ProblemEntry {
        name: "rosenbrock",
        about: "sum (a - x_i)^2 + b (x_{i+1} - x_i^2)^2; dim from x0",
        flags: &["a", "b"],
        x0: "-1.5,2",
        details: "--a A (default 1)   --b B (default 100)",
    },
    ProblemEntry {
        name: "logcosh",
        about: "(m/2)|x - c|^2 + sum log cosh x_i; dim from x0",
        flags: &["m", "c"],
        x0: "3,-2",
        details: "--m M (default 1)   --c LIST (default 1 in every coordinate)",
    },
    ProblemEntry {
        name: "logistic",
        about: "binary logistic regression on seeded data, theta in R^d",
        flags: &["seed", "n", "d"],
        x0: "d zeros",
        details: "--seed S (default 1)  --n N examples (default 64)  --d D features (default 3)",
    },
    ProblemEntry {
        name: "softmax",
        about: "softmax regression, class-major weights (theta[k d .. (k+1) d] is class k)",
        flags: &["seed", "n", "d", "classes"],
        x0: "classes*d zeros",
        details: "--seed --n --d as for logistic   --classes K, >= 2 (default 3)",
    },
    ProblemEntry {
        name: "least_squares",
        about: "|X theta - y|^2 / (2N), y = X theta* + noise, model variance 1",
        flags: &["seed", "n", "d", "noise"],
        x0: "d zeros",
        details: "--seed --n --d as for logistic   --noise STD of the noise, >= 0 (default 0.5)",
    },
    ProblemEntry {
        name: "gaussian",
        about: "n draws of N(mean, std^2), fitted in (mu, log sigma)",
        flags: &["seed", "n", "mean", "std"],
        x0: "0,0",
        details: "--seed S (default 1)  --n N (default 64)\n\
                  --mean M (default 1)  --std S, > 0 (default 2)   (of the data)",
    },
    ProblemEntry {
        name: "gaussian_std",
        about: "the same data fitted in (mu, sigma); x0 needs sigma > 0",
        flags: &["seed", "n", "mean", "std"],
        x0: "0,1",
        details: "flags as for gaussian",
    },
];

/// The flags every run takes, with their help.
pub const COMMON_FLAGS: &[(&str, &str, &str)] = &[
    ("optimizer", "NAME", "the optimizer (listed below)"),
    ("problem", "NAME", "the problem (listed below)"),
    (
        "x0",
        "LIST",
        "the start, comma-separated (write --x0=-1.5,2 for negative numbers)",
    ),
    (
        "steps",
        "N",
        "steps to take (default 100); step 0 is the start",
    ),
    (
        "format",
        "F",
        "jsonl (default): one JSON object per step and line, {\"step\": k, \"loss\": .., \
         \"grad_norm\": .., \"params\": [..]}, printed as the step is taken; csv: a header \
         step,loss,grad_norm,x0,x1,.. then one row per step, printed as taken; json: one \
         document {\"steps\": [..]} printed at the end (then (N + 1) (dim + 2) <= 2^22)",
    ),
];

/// The optimizer named `name`.
pub fn optimizer(name: &str) -> Option<&'static OptimizerEntry> {
    OPTIMIZERS.iter().find(|o| o.name == name)
}

/// The problem named `name`.
pub fn problem(name: &str) -> Option<&'static ProblemEntry> {
    PROBLEMS.iter().find(|p| p.name == name)
}

/// The optimizers `replay` takes, in table order.
pub fn replay_optimizers() -> impl Iterator<Item = &'static OptimizerEntry> {
    OPTIMIZERS.iter().filter(|o| o.reach != Reach::Run)
}

/// The optimizers `run` takes, in table order.
pub fn run_optimizers() -> impl Iterator<Item = &'static OptimizerEntry> {
    OPTIMIZERS.iter().filter(|o| o.reach != Reach::Replay)
}

/// Every flag `run` knows, each once: the common ones, then the problems' and
/// the optimizers' in table order.
pub fn run_flags() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = COMMON_FLAGS.iter().map(|(name, _, _)| *name).collect();
    let owned = PROBLEMS
        .iter()
        .flat_map(|p| p.flags)
        .chain(run_optimizers().flat_map(|o| o.flags));
    for flag in owned {
        if !all.contains(flag) {
            all.push(flag);
        }
    }
    all
}

/// Who takes `flag`: the problems and `run`'s optimizers that list it.
pub fn users(flag: &str) -> Vec<&'static str> {
    PROBLEMS
        .iter()
        .filter(|p| p.flags.contains(&flag))
        .map(|p| p.name)
        .chain(
            run_optimizers()
                .filter(|o| o.flags.contains(&flag))
                .map(|o| o.name),
        )
        .collect()
}

/// The listing of problems and optimizers under `descent run --help`.
pub fn run_listing() -> String {
    let mut out = String::from("Problems (default x0):\n");
    for p in PROBLEMS {
        out.push_str(&format!("  {:<14} {}  ({})\n", p.name, p.about, p.x0));
        for line in p.details.lines() {
            out.push_str(&format!("  {:<14}   {}\n", "", line.trim_start()));
        }
    }
    out.push_str(
        "\nOptimizers and their flags (first-order ones: PyTorch's names and defaults, as \
         in `descent replay`;\npairs as --betas 0.9,0.99; switches as --amsgrad true):\n",
    );
    for o in run_optimizers() {
        out.push_str(&format!("  {:<14} {}\n", o.name, o.about));
        if o.details.is_empty() {
            let flags: Vec<String> = o.flags.iter().map(|f| format!("--{f}")).collect();
            out.push_str(&format!("  {:<14}   {}\n", "", flags.join(" ")));
        }
        for line in o.details.lines() {
            out.push_str(&format!("  {:<14}   {}\n", "", line.trim_start()));
        }
    }
    out
}

/// The listing of optimizers under `descent replay --help`.
pub fn replay_listing() -> String {
    let mut out =
        String::from("Optimizers and their \"hyper\" keys (PyTorch's constructor arguments):\n");
    for o in replay_optimizers() {
        out.push_str(&format!("  {:<10} {}\n", o.name, o.about));
        out.push_str(&format!("  {:<10}   {}\n", "", o.flags.join(", ")));
    }
    out
}
