//! The `feedloom` binary: parse the command line, set up logging, hand over to `cli`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = feedloom::cli::Args::parse();
    feedloom::cli::init_logging(&args);
    feedloom::cli::run(args)
}
