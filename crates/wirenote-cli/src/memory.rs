//! `--attempt-timeout`, `--idle-timeout`, `--close-linger` and `--max-memory` as the
//! core's [`Limits`], and the one warning the memory budget gives.

use anyhow::{bail, Context};
use wirenote_core::{Limits, Shed, Timeouts};

use crate::args::MemoryFlags;

/// The limits of each of `passes` dissectors running at once (they share the budget).
pub(crate) fn limits(flags: &MemoryFlags, passes: usize) -> anyhow::Result<Limits> {
    let seconds = |name: &str, value: f64| -> anyhow::Result<i128> {
        if !(value.is_finite() && value >= 0.0) {
            bail!("--{name} {value}: a number of seconds, 0 or more");
        }
        Ok((value * 1e9) as i128)
    };
    let max = parse_size(&flags.max_memory)
        .with_context(|| format!("--max-memory {}", flags.max_memory))?;
    Ok(Limits {
        timeouts: Timeouts {
            attempt_ns: seconds("attempt-timeout", flags.attempt_timeout)?,
            idle_ns: seconds("idle-timeout", flags.idle_timeout)?,
            linger_ns: seconds("close-linger", flags.close_linger)?,
        },
        max_bytes: max / passes.max(1),
    })
}

/// `1000`, `64KiB`, `512MiB`, `2GiB`, `1TiB` (or `K`, `M`, `G`, `T`, `KB`… as powers of
/// 1024 too: this is memory).
pub(crate) fn parse_size(text: &str) -> anyhow::Result<usize> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: usize = number.parse().context("a size such as 512MiB or 2GiB")?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        other => bail!("unknown unit {other:?} (B, KiB, MiB, GiB, TiB)"),
    };
    let bytes = number.checked_mul(1usize << shift).context("too large")?;
    if bytes < 1 << 20 {
        bail!("at least 1MiB");
    }
    Ok(bytes)
}

/// The warning for what the budget cost, if anything.
pub(crate) fn warning(name: &str, shed: Shed, limits: &Limits) -> Option<String> {
    if shed.connections == 0 && shed.records == 0 {
        return None;
    }
    Some(format!(
        "{name}: warning: connection state reached its memory budget ({} MiB): {} \
         connections forgotten before their timeout, oldest first, and {} records of \
         forgotten ones dropped (raise --max-memory to keep them)",
        limits.max_bytes >> 20,
        shed.connections,
        shed.records
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_powers_of_1024() {
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_size("512MiB").unwrap(), 512 << 20);
        assert_eq!(parse_size("2g").unwrap(), 2 << 30);
        assert_eq!(parse_size("1048576").unwrap(), 1 << 20);
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("1000").is_err());
        assert!(parse_size("").is_err());
    }
}
