//! `wirenote-gen`: writes a deterministic benchmark capture.
//!
//! ```sh
//! wirenote-gen --kind keepalive --size 300M --seed 1 -o /tmp/keepalive.pcap
//! wirenote-gen --kind syn-flood --count 2000000 -o /tmp/flood.pcap
//! wirenote-gen --kind long-header --size 5M -o /tmp/long.pcap
//! ```

use std::io::BufWriter;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use wirenote_bench::{generate, generate_hostile_at, Kind, Shape, SYN_FLOOD_RATE};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    /// Many short Connection: close connections (sized by --size).
    Short,
    /// Long keep-alive connections with mixed responses and 304s (sized by --size).
    Keepalive,
    /// SYNs from spoofed sources, never answered (--count SYNs, default 2M).
    SynFlood,
    /// Handshake and one request per connection, never closed (--count connections, default 200k).
    HalfOpen,
    /// One connection with pipelined GETs and their responses (--count requests, default 1M).
    Pipelined,
    /// One request with a header line --size bytes long (default 5M), in MSS segments.
    LongHeader,
}

/// Write a deterministic capture: HTTP/1.1 traffic of about the given size, or a hostile
/// shape of the given count or size.
#[derive(Debug, Parser)]
#[command(name = "wirenote-gen", version, about)]
struct Args {
    /// Traffic kind.
    #[arg(long, value_enum, default_value_t = KindArg::Short)]
    kind: KindArg,
    /// Approximate capture size (short, keepalive; default 10M) or header line length
    /// (long-header; default 5M), with an optional K/M/G suffix.
    #[arg(long)]
    size: Option<String>,
    /// How many SYNs (syn-flood), connections (half-open) or requests (pipelined), with an
    /// optional K/M/G suffix (powers of 1000 here: 2M is 2,000,000).
    #[arg(long)]
    count: Option<String>,
    /// SYNs a second (syn-flood; default 33,333: 2M SYNs take 60 s of capture, as issue
    /// #19 measured).
    #[arg(long, default_value_t = SYN_FLOOD_RATE)]
    rate: u64,
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output file (pcap).
    #[arg(short, long)]
    output: PathBuf,
}

/// `digits` and a unit suffix, the unit worth `base`, `base²`, `base³`.
fn parse_amount(text: &str, base: u64) -> anyhow::Result<u64> {
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, ""),
    };
    let n: u64 = digits.parse()?;
    Ok(n * match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" => base,
        "M" => base * base,
        "G" => base * base * base,
        other => anyhow::bail!("unknown unit {other}"),
    })
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let traffic = match args.kind {
        KindArg::Short => Ok(Kind::Short),
        KindArg::Keepalive => Ok(Kind::KeepAlive),
        KindArg::SynFlood => Err(Shape::SynFlood),
        KindArg::HalfOpen => Err(Shape::HalfOpen),
        KindArg::Pipelined => Err(Shape::Pipelined),
        KindArg::LongHeader => Err(Shape::LongHeader),
    };
    let sized_by_bytes = matches!(traffic, Ok(_) | Err(Shape::LongHeader));
    let (given, other) = if sized_by_bytes {
        (&args.size, ("--count", &args.count))
    } else {
        (&args.count, ("--size", &args.size))
    };
    if other.1.is_some() {
        let kind = args.kind.to_possible_value().expect("no kind is skipped");
        anyhow::bail!("{} does not apply to --kind {}", other.0, kind.get_name());
    }
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&args.output)?);
    let frames = match traffic {
        Ok(kind) => {
            let size = parse_amount(given.as_deref().unwrap_or("10M"), 1 << 10)?;
            generate(kind, size, args.seed, &mut out)?
        }
        Err(shape) => {
            let amount = match given {
                Some(text) if sized_by_bytes => parse_amount(text, 1 << 10)?,
                Some(text) => parse_amount(text, 1000)?,
                None => shape.default_amount(),
            };
            generate_hostile_at(shape, amount, args.seed, args.rate, &mut out)?
        }
    };
    eprintln!(
        "wirenote-gen: {} frames to {}",
        frames,
        args.output.display()
    );
    Ok(())
}
