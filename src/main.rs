//! The `descent` command: thin parsing over the library.

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;

const USAGE: &str = "\
descent: the optimizers of deep learning, checked against PyTorch

usage:
  descent replay < request.json   run a first-order optimizer on recorded gradients
  descent run --optimizer NAME --problem NAME [flags]
                                  run an optimizer on a problem with exact derivatives
                                  (`descent run --help` lists problems, optimizers, flags)
  descent pep --method gd|heavy-ball|nesterov|ogm --L L --steps N [flags]
                                  the exact worst case of a method, by an SDP
                                  (`descent pep --help` lists the flags)
  descent figures DIR             draw the book's figures into DIR as SVG
  descent ledger                  print the claims ledger (from proofs/) as Markdown
  descent --help                  this text

replay reads one JSON object on stdin:
  {\"optimizer\": \"sgd\"|\"adagrad\"|\"rmsprop\"|\"adadelta\"|\"adam\"|\"adamw\"|\"rprop\"
                 |\"asgd\"|\"adamax\"|\"nadam\"|\"radam\",
   \"hyper\": {PyTorch's constructor arguments; omitted ones take PyTorch's defaults},
   \"params\": [..], \"grads\": [[..], ..]}   (one row of grads per step)
and writes {\"params\": [[..], ..]}, the parameters after each step. Optional keys,
applied in PyTorch's order (clip, step, schedule):
  \"dtype\": \"float64\" (default) | \"float32\"   (float32: every input is first
      rounded to the nearest float32; every output is a float32, printed exactly)
  \"lr_scheduler\": {\"name\": PyTorch's class name, its constructor arguments}
      (the output then also has \"lr\", the rate each step used)
  \"clip_grad_norm\": {\"max_norm\": .., \"norm_type\": 2.0|1.0|\"inf\"}
  \"clip_grad_value\": {\"clip_value\": ..}";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("replay") if args.len() == 1 => replay(),
        Some("run") => finish("run", descent::run::run(&args[1..])),
        Some("figures") if args.len() == 2 => figures(Path::new(&args[1])),
        Some("ledger") if args.len() == 1 => ledger(),
        Some("pep") => match descent::pep::cli::run(&args[1..]) {
            Ok(out) => finish("pep", Ok(out)),
            Err(e) => {
                eprintln!("descent pep: {e}");
                ExitCode::from(e.exit_code())
            }
        },
        Some("-h" | "--help" | "help") => finish("help", Ok(USAGE.to_string())),
        _ => {
            eprintln!("descent: expected a command; try `descent --help`");
            ExitCode::from(2)
        }
    }
}

/// Prints a command's output, or its one-line error; a closed stdout is an error,
/// not a panic.
fn finish(command: &str, result: Result<String, String>) -> ExitCode {
    match result {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            match writeln!(stdout, "{out}").and_then(|()| stdout.flush()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("descent {command}: cannot write the output: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(message) => {
            eprintln!("descent {command}: {message}");
            ExitCode::FAILURE
        }
    }
}

fn replay() -> ExitCode {
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("descent replay: cannot read stdin: {e}");
        return ExitCode::FAILURE;
    }
    finish(
        "replay",
        descent::replay::replay(&input).map_err(|e| e.to_string()),
    )
}

fn figures(dir: &Path) -> ExitCode {
    let result = descent::figures::write_all(dir)
        .map(|names| format!("wrote {} figures into {}", names.len(), dir.display()))
        .map_err(|e| e.to_string());
    finish("figures", result)
}

fn ledger() -> ExitCode {
    // The project's own tree: the current folder if it holds proofs/, else the
    // folder the binary was built from.
    let here = Path::new(".");
    let root = if here.join("proofs").is_dir() {
        here
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR"))
    };
    let result = descent::ledger::page(root)
        .map(|page| page.trim_end().to_string())
        .map_err(|errors| errors.join("; "));
    finish("ledger", result)
}
