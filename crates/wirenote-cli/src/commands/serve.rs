//! `wirenote serve`: the lab page server.

use anyhow::Context;
use wirenote_server::{Lang, PageInfo, ServerConfig};

use crate::args::{LangArg, ServeArgs};
use crate::exit::Exit;

pub(crate) fn run(args: &ServeArgs) -> anyhow::Result<Exit> {
    let mut page = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
            PageInfo::from_toml(&text).with_context(|| path.display().to_string())?
        }
        None => PageInfo::default(),
    };
    if let Some(major) = &args.major {
        page.major = Some(major.clone());
    }
    if let Some(id) = &args.student_id {
        page.student_id = id.clone();
    }
    if let Some(name) = &args.name {
        page.name = Some(name.clone());
    }
    if let Some(lang) = args.lang {
        page.lang = match lang {
            LangArg::En => Lang::En,
            LangArg::Zh => Lang::Zh,
        };
    }
    if let Some(dir) = &args.static_dir {
        anyhow::ensure!(dir.is_dir(), "{}: not a folder", dir.display());
    }
    let config = ServerConfig {
        bind: args.bind,
        page,
        static_dir: args.static_dir.clone(),
        close_after_response: args.close,
        first_byte_timeout: std::time::Duration::from_secs(args.first_byte_timeout.max(1)),
        header_read_timeout: std::time::Duration::from_secs(args.header_timeout.max(1)),
        max_connections: args.max_connections.max(1),
        access_log: !args.quiet,
        ..ServerConfig::default()
    };
    wirenote_server::run(config).with_context(|| format!("serving on {}", args.bind))?;
    Ok(Exit::Clean)
}
