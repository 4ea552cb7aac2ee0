//! The `descent` command line (cargo feature `cli`): its clap definition, the
//! [`table`] of optimizers and problems it is made from, and [`main`], which
//! the binary calls.
//!
//! Exit status: 0 on success (and when the reader of the output goes away, as
//! in `descent run ... | head -1`: the command stops quietly), 2 for a usage
//! error (clap's own, and a flag value clap cannot check, such as an unknown
//! optimizer name or a flag the chosen optimizer does not take), 1 for a
//! refused request (a hyperparameter outside its range, a refused step, a
//! problem over the memory budget, a malformed `replay` request).
//! An error is one line on standard error.

pub mod table;

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches, Parser, Subcommand};

use crate::run::RunError;

/// The optimizers of deep learning, checked against PyTorch.
#[derive(Parser, Debug)]
#[command(name = "descent", version, propagate_version = true)]
#[command(
    about = "The optimizers of deep learning, derived, implemented and checked against PyTorch",
    after_help = "Every command has --help (`descent run --help`, `descent replay --help`, \
                  `descent pep --help`).\n\nExit status: 0 done, 2 usage error, 1 refused \
                  request; an error is one line on stderr."
)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Commands,
}

/// `descent`'s commands.
#[derive(Subcommand, Debug)]
pub enum Commands {
    /// Run a first-order optimizer on recorded gradients (one JSON request)
    #[command(after_help = replay_help())]
    Replay {
        /// The request: a file, or `-` for standard input
        #[arg(default_value = "-", value_name = "FILE")]
        file: PathBuf,
    },
    /// Run an optimizer on a problem with exact derivatives, printing each step
    Run(RunArgs),
    /// The exact worst case of a first-order method, by an SDP (`descent pep --help`)
    #[command(disable_help_flag = true)]
    Pep {
        /// pep's flags (`descent pep --help` lists them)
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "FLAGS"
        )]
        args: Vec<String>,
    },
    /// Draw the book's figures into DIR as SVG
    Figures {
        /// The folder to write into
        dir: PathBuf,
    },
    /// Print the claims ledger (from proofs/) as Markdown
    Ledger,
}

/// `descent run`'s flags, in the order given on the command line. The parser
/// is made from [`table`]: every flag any problem or optimizer takes; whether
/// the chosen ones take it is checked by [`crate::run`].
#[derive(Debug, Clone, Default)]
pub struct RunArgs {
    /// `(flag, value)` pairs, without the leading `--`.
    pub flags: Vec<(String, String)>,
}

impl FromArgMatches for RunArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut flags: Vec<(usize, String, String)> = Vec::new();
        for name in table::run_flags() {
            // Every occurrence is kept (a flag given twice is refused by
            // `crate::run`, naming it, in one line).
            if let (Some(values), Some(at)) =
                (matches.get_many::<String>(name), matches.indices_of(name))
            {
                for (value, at) in values.zip(at) {
                    flags.push((at, name.to_string(), value.clone()));
                }
            }
        }
        flags.sort_by_key(|(at, _, _)| *at);
        Ok(RunArgs {
            flags: flags.into_iter().map(|(_, n, v)| (n, v)).collect(),
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for RunArgs {
    fn augment_args(cmd: Command) -> Command {
        run_command(cmd)
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        run_command(cmd)
    }
}

/// `run`'s arguments and help, from [`table`].
pub fn run_command(cmd: Command) -> Command {
    let mut cmd = cmd
        .override_usage(
            "descent run --optimizer NAME --problem NAME [--x0=a,b,..] [--steps N] \
             [--format jsonl|csv|json] [problem flags] [optimizer flags]",
        )
        .after_help(format!(
            "{}\nLimits: a problem's dimension is at most 4096 (its exact derivatives, in \
             forward mode, need dim^2 entries: a budget of 2^24, 128 MiB); a larger --d, \
             --classes * --d or --x0 is refused before anything is allocated. With --format \
             json, (steps + 1) (dim + 2) <= 2^22 numbers are printed.\n\n\
             Exit status: 0 done, 2 usage error (unknown name or flag, a value of the \
             wrong kind), 1 refused (a value outside its range, a refused step, over a \
             budget). Errors are one line on stderr naming the flag.",
            table::run_listing()
        ));
    for (name, value_name, help) in table::COMMON_FLAGS {
        cmd = cmd.arg(
            Arg::new(*name)
                .long(*name)
                .value_name(*value_name)
                .help(*help)
                .action(ArgAction::Append)
                .allow_hyphen_values(true),
        );
    }
    let common: Vec<&str> = table::COMMON_FLAGS.iter().map(|(n, _, _)| *n).collect();
    for name in table::run_flags() {
        if common.contains(&name) {
            continue;
        }
        cmd = cmd.arg(
            Arg::new(name)
                .long(name)
                .value_name("VALUE")
                .help(format!("taken by {}", table::users(name).join(", ")))
                .action(ArgAction::Append)
                .allow_hyphen_values(true),
        );
    }
    cmd
}

fn replay_help() -> String {
    format!(
        "The request is one JSON object:\n  \
         {{\"optimizer\": NAME, \"hyper\": {{PyTorch's constructor arguments; omitted ones take \
         PyTorch's defaults}},\n   \"params\": [..], \"grads\": [[..], ..]}}   (one row of grads \
         per step)\nand the answer is {{\"params\": [[..], ..]}}, the parameters after each step. \
         Optional keys,\napplied in PyTorch's order (clip, step, schedule):\n  \
         \"dtype\": \"float64\" (default) | \"float32\"\n  \
         \"shape\": [rows, cols]   (Adafactor factors a matrix; Muon needs one)\n  \
         \"lr_scheduler\": {{\"name\": PyTorch's class name, its constructor arguments}}\n      \
         (the answer then also has \"lr\", the rate each step used)\n  \
         \"clip_grad_norm\": {{\"max_norm\": .., \"norm_type\": 2.0|1.0|\"inf\"}}\n  \
         \"clip_grad_value\": {{\"clip_value\": ..}}\n\n{}\n\
         Exit status: 0 done, 2 usage error, 1 refused request (one line on stderr naming \
         the field or the step).",
        table::replay_listing()
    )
}

/// Where output goes: standard output, with a closed pipe told apart.
enum Failure {
    /// A message for standard error and the exit status.
    Message(String, u8),
    /// The reader went away: stop quietly.
    Closed,
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            Failure::Closed
        } else {
            Failure::Message(format!("cannot write the output: {e}"), 1)
        }
    }
}

/// Runs the command line `args` (the program's name first) and returns the
/// exit status. Nothing panics on a closed standard output or error.
pub fn main<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with status 0, usage errors to
            // stderr with status 2; a closed stream is ignored.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let (name, result) = match cli.command {
        Commands::Replay { file } => ("replay", replay(&file)),
        Commands::Run(args) => ("run", run(&args)),
        Commands::Pep { args } => ("pep", pep(&args)),
        Commands::Figures { dir } => ("figures", figures(&dir)),
        Commands::Ledger => ("ledger", ledger()),
    };
    match result {
        Ok(()) | Err(Failure::Closed) => ExitCode::SUCCESS,
        Err(Failure::Message(message, code)) => {
            let _ = writeln!(io::stderr().lock(), "descent {name}: {message}");
            ExitCode::from(code)
        }
    }
}

/// Writes `text` and a newline to standard output.
fn print(text: &str) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()?;
    Ok(())
}

fn replay(file: &Path) -> Result<(), Failure> {
    let mut input = String::new();
    let read = if file == Path::new("-") {
        io::stdin().read_to_string(&mut input).map(|_| ())
    } else {
        std::fs::read_to_string(file).map(|s| input = s)
    };
    read.map_err(|e| {
        let from = if file == Path::new("-") {
            "stdin".to_string()
        } else {
            file.display().to_string()
        };
        Failure::Message(format!("cannot read {from}: {e}"), 1)
    })?;
    let answer = crate::replay::replay(&input).map_err(|e| Failure::Message(e.to_string(), 1))?;
    print(&answer)
}

fn run(args: &RunArgs) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    match crate::run::execute(&args.flags, &mut out) {
        Ok(()) => Ok(out.flush()?),
        Err(RunError::Output(e)) => Err(e.into()),
        Err(e) => {
            let code = e.exit_code();
            // What was printed before the refusal stays printed; the error
            // follows on stderr.
            let _ = out.flush();
            Err(Failure::Message(e.to_string(), code))
        }
    }
}

fn pep(args: &[String]) -> Result<(), Failure> {
    match crate::pep::cli::run(args) {
        Ok(out) => print(&out),
        Err(e) => Err(Failure::Message(e.to_string(), e.exit_code())),
    }
}

fn figures(dir: &Path) -> Result<(), Failure> {
    let names = crate::figures::write_all(dir).map_err(|e| Failure::Message(e.to_string(), 1))?;
    print(&format!(
        "wrote {} figures into {}",
        names.len(),
        dir.display()
    ))
}

fn ledger() -> Result<(), Failure> {
    // The project's own tree: the current folder if it holds proofs/, else the
    // folder the binary was built from.
    let here = Path::new(".");
    let root = if here.join("proofs").is_dir() {
        here
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR"))
    };
    let page =
        crate::ledger::page(root).map_err(|errors| Failure::Message(errors.join("; "), 1))?;
    print(page.trim_end())
}
