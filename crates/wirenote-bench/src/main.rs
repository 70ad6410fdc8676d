//! `wirenote-gen`: writes a deterministic benchmark capture.
//!
//! ```sh
//! wirenote-gen --kind keepalive --size 300M --seed 1 -o /tmp/keepalive.pcap
//! ```

use std::io::BufWriter;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use wirenote_bench::{generate, Kind};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    /// Many short Connection: close connections.
    Short,
    /// Long keep-alive connections with mixed responses and 304s.
    Keepalive,
}

/// Write a deterministic HTTP/1.1 capture of about the given size.
#[derive(Debug, Parser)]
#[command(name = "wirenote-gen", version, about)]
struct Args {
    /// Traffic kind.
    #[arg(long, value_enum, default_value_t = KindArg::Short)]
    kind: KindArg,
    /// Approximate size, with an optional K/M/G suffix.
    #[arg(long, default_value = "10M")]
    size: String,
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output file (pcap).
    #[arg(short, long)]
    output: PathBuf,
}

fn parse_size(text: &str) -> anyhow::Result<u64> {
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, ""),
    };
    let n: u64 = digits.parse()?;
    Ok(n * match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        other => anyhow::bail!("unknown size unit {other}"),
    })
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let kind = match args.kind {
        KindArg::Short => Kind::Short,
        KindArg::Keepalive => Kind::KeepAlive,
    };
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&args.output)?);
    let frames = generate(kind, parse_size(&args.size)?, args.seed, &mut out)?;
    eprintln!(
        "wirenote-gen: {} frames to {}",
        frames,
        args.output.display()
    );
    Ok(())
}
