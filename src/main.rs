//! The `descent` command: thin parsing over the library.

use std::io::Read;
use std::process::ExitCode;

const USAGE: &str = "\
descent: the optimizers of deep learning, checked against PyTorch

usage:
  descent replay < request.json   run a first-order optimizer on recorded gradients
  descent --help                  this text

replay reads one JSON object on stdin:
  {\"optimizer\": \"sgd\"|\"adagrad\"|\"rmsprop\"|\"adadelta\"|\"adam\"|\"adamw\"|\"rprop\",
   \"hyper\": {PyTorch's constructor arguments; omitted ones take PyTorch's defaults},
   \"params\": [..], \"grads\": [[..], ..]}   (one row of grads per step)
and writes {\"params\": [[..], ..]}, the parameters after each step.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("replay") if args.len() == 1 => replay(),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("descent: expected a command; try `descent --help`");
            ExitCode::from(2)
        }
    }
}

fn replay() -> ExitCode {
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("descent replay: cannot read stdin: {e}");
        return ExitCode::FAILURE;
    }
    match descent::replay::replay(&input) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("descent replay: {message}");
            ExitCode::FAILURE
        }
    }
}
