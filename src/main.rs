//! The `descent` command: the library's command line ([`descent::cli`]).

fn main() -> std::process::ExitCode {
    descent::cli::main(std::env::args_os())
}
