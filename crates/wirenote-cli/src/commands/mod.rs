//! One module per command; this one only dispatches.

mod annotate;
mod batch;
mod docs;
mod explain;
mod flows;
mod http;
mod one_table;
mod report;
mod serve;

use std::process::ExitCode;

use crate::args::{Cli, Command};
use crate::exit::report;

/// Runs the parsed command line and returns the process exit status.
pub(crate) fn run(cli: Cli) -> ExitCode {
    if !matches!(cli.command, Command::Batch(_) | Command::Serve(_)) {
        crate::output::remove_temporaries_on_signal();
    }
    if matches!(
        cli.command,
        Command::Annotate(_) | Command::Flows(_) | Command::Http(_)
    ) {
        crate::passes::leave_state_to_exit();
    }
    report(match cli.command {
        Command::Annotate(args) => annotate::run(&args),
        Command::Flows(args) => flows::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Http(args) => http::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Batch(args) => batch::run(&args),
        Command::Completions(args) => docs::completions(&args),
        Command::Man(args) => docs::man(&args),
    })
}
