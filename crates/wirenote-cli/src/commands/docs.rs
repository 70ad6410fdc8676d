//! `wirenote completions` and `wirenote man`: the command line describing itself.

use std::io::{self, Write};

use anyhow::Context;
use clap::CommandFactory;

use crate::args::{Cli, CompletionsArgs, ManArgs};
use crate::exit::Exit;
use crate::output::Output;

pub(crate) fn completions(args: &CompletionsArgs) -> anyhow::Result<Exit> {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "wirenote", &mut io::stdout());
    Ok(Exit::Clean)
}

/// The main page on stdout, or every page (`wirenote.1`, `wirenote-annotate.1`, …) in a
/// folder, written atomically.
pub(crate) fn man(args: &ManArgs) -> anyhow::Result<Exit> {
    let command = Cli::command();
    let Some(dir) = &args.dir else {
        let mut out = io::stdout().lock();
        clap_mangen::Man::new(command).render(&mut out)?;
        out.flush()?;
        return Ok(Exit::Clean);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut pages = vec![("wirenote".to_owned(), command.clone())];
    for sub in command.get_subcommands() {
        let name = format!("wirenote-{}", sub.get_name());
        pages.push((name.clone(), sub.clone().name(name)));
    }
    for (name, page) in pages {
        let output = Output::create(Some(&dir.join(format!("{name}.1"))))?;
        clap_mangen::Man::new(page).render(&mut output.writer())?;
        output.commit()?;
    }
    Ok(Exit::Clean)
}
