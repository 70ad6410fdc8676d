//! The per-packet CSV writer: the one table with a row per frame, so the one place where
//! formatting cost shows next to dissection.
//!
//! Rows are built directly into one reusable byte buffer (numbers with `itoa`, text
//! quoted only when it must be) and handed to the output 64 KiB at a time. Quoting follows
//! the `csv` crate's `QuoteStyle::Necessary` with its default `\n` terminator byte for
//! byte: a field is quoted when it holds `,`, `"`, `\r` or `\n`, and quotes inside are
//! doubled. `tests::quoting_matches_the_csv_crate` and `csv_fast_path_equals_serde` hold
//! it to that.

use std::io::{self, Write};
use std::net::IpAddr;

use wirenote_core::record::PacketRecord;
use wirenote_core::wire::tcp;

use crate::PacketRow;

const FLUSH_AT: usize = 64 * 1024;

/// Writes packet rows as CSV.
pub(crate) struct PacketCsv<W: Write> {
    out: W,
    buf: Vec<u8>,
    text: String,
}

fn needs_quotes(field: &[u8]) -> bool {
    field
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
}

/// Appends `field` and its trailing delimiter, quoted if needed.
fn push_text(buf: &mut Vec<u8>, field: &[u8]) {
    if needs_quotes(field) {
        buf.push(b'"');
        for (i, part) in field.split(|&b| b == b'"').enumerate() {
            if i > 0 {
                buf.extend_from_slice(b"\"\"");
            }
            buf.extend_from_slice(part);
        }
        buf.push(b'"');
    } else {
        buf.extend_from_slice(field);
    }
    buf.push(b',');
}

/// Appends a field known to hold no byte that needs quoting (numbers, names).
fn push_plain(buf: &mut Vec<u8>, field: &[u8]) {
    debug_assert!(!needs_quotes(field));
    buf.extend_from_slice(field);
    buf.push(b',');
}

fn push_num(buf: &mut Vec<u8>, value: impl itoa::Integer) {
    push_plain(buf, itoa::Buffer::new().format(value).as_bytes());
}

fn push_opt_num(buf: &mut Vec<u8>, value: Option<impl itoa::Integer>) {
    match value {
        Some(v) => push_num(buf, v),
        None => buf.push(b','),
    }
}

fn push_addr(buf: &mut Vec<u8>, addr: Option<IpAddr>, text: &mut String) {
    match addr {
        // Dotted quads by hand: `Ipv4Addr`'s Display goes through the formatting machinery.
        Some(IpAddr::V4(v4)) => {
            let mut num = itoa::Buffer::new();
            for (i, octet) in v4.octets().iter().enumerate() {
                if i > 0 {
                    buf.push(b'.');
                }
                buf.extend_from_slice(num.format(*octet).as_bytes());
            }
            buf.push(b',');
        }
        Some(v6) => {
            use std::fmt::Write as _;
            text.clear();
            let _ = write!(text, "{v6}");
            push_plain(buf, text.as_bytes());
        }
        None => buf.push(b','),
    }
}

impl<W: Write> PacketCsv<W> {
    pub(crate) fn new(out: W) -> Self {
        PacketCsv {
            out,
            buf: Vec::with_capacity(FLUSH_AT + 4096),
            text: String::with_capacity(64),
        }
    }

    /// Writes a header (or any row of plain cells).
    pub(crate) fn header(&mut self, columns: &[&str]) -> io::Result<()> {
        for column in columns {
            push_text(&mut self.buf, column.as_bytes());
        }
        self.end_row()
    }

    fn end_row(&mut self) -> io::Result<()> {
        // Every cell ended with a delimiter; the row's last one becomes the terminator.
        if let Some(last) = self.buf.last_mut() {
            *last = b'\n';
        }
        if self.buf.len() >= FLUSH_AT {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Writes one row; the cells are those of [`PacketRow`] (the JSON Lines row).
    pub(crate) fn packet(&mut self, r: &PacketRecord) -> io::Result<()> {
        let buf = &mut self.buf;
        push_num(buf, r.frame);
        match r.time {
            Some(t) if t.nanos < 1_000_000_000 => {
                // `secs.nnnnnnnnn`, as `Timestamp`'s Display and `frame.time_epoch`: the
                // nanoseconds zero-padded by formatting them above 10^9 and dropping the 1.
                buf.extend_from_slice(itoa::Buffer::new().format(t.secs).as_bytes());
                let mut padded = itoa::Buffer::new();
                buf.extend_from_slice(padded.format(t.nanos + 1_000_000_000).as_bytes());
                let dot = buf.len() - 10;
                buf[dot] = b'.';
                buf.push(b',');
            }
            Some(t) => {
                use std::fmt::Write as _;
                self.text.clear();
                let _ = write!(self.text, "{t}");
                push_plain(buf, self.text.as_bytes());
            }
            None => buf.push(b','),
        }
        push_addr(buf, r.src, &mut self.text);
        push_addr(buf, r.dst, &mut self.text);
        let t = r.tcp.as_ref();
        push_opt_num(buf, t.map(|t| t.source_port));
        push_opt_num(buf, t.map(|t| t.destination_port));
        push_opt_num(buf, t.map(|t| t.stream));
        match t {
            Some(t) => {
                self.text.clear();
                tcp::write_flag_names(&mut self.text, tcp::TcpFlags::from_bits(t.flags));
                push_text(buf, self.text.as_bytes());
            }
            None => buf.push(b','),
        }
        push_opt_num(buf, t.map(|t| t.relative_seq));
        push_opt_num(buf, t.map(|t| t.relative_ack));
        push_opt_num(buf, t.map(|t| t.raw_seq));
        push_opt_num(buf, t.map(|t| t.raw_ack));
        push_opt_num(buf, t.map(|t| t.len));
        push_opt_num(buf, t.map(|t| t.window));
        push_num(buf, r.frame_len);
        push_text(buf, r.protocol.as_bytes());
        push_text(buf, r.info.as_bytes());
        push_num(buf, r.cap_len);
        push_text(buf, r.malformed.as_deref().unwrap_or("").as_bytes());
        match t {
            Some(t) => {
                push_plain(buf, if t.from_client { b"c2s" } else { b"s2c" });
                push_plain(buf, t.role.map_or("", |x| x.as_str()).as_bytes());
                push_plain(buf, t.client_state.map_or("", |x| x.as_str()).as_bytes());
                push_plain(buf, t.server_state.map_or("", |x| x.as_str()).as_bytes());
                if t.analysis.flags.is_empty() {
                    buf.push(b',');
                } else {
                    push_text(buf, t.analysis.names().as_bytes());
                }
                push_num(buf, t.completeness);
            }
            None => buf.extend_from_slice(b",,,,,,"),
        }
        if r.http.is_empty() {
            buf.extend_from_slice(b",,,,,,,,,,,");
        } else {
            let row = PacketRow::new(r);
            for cell in [
                &row.http,
                &row.method,
                &row.uri,
                &row.version,
                &row.status,
                &row.reason,
                &row.content_type,
                &row.request_in,
                &row.response_in,
                &row.http_time,
                &row.http_note,
            ] {
                push_text(buf, cell.as_deref().unwrap_or("").as_bytes());
            }
        }
        self.end_row()
    }

    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ours(fields: &[Vec<u8>]) -> Vec<u8> {
        let mut buf = Vec::new();
        for field in fields {
            push_text(&mut buf, field);
        }
        *buf.last_mut().unwrap() = b'\n';
        buf
    }

    fn theirs(fields: &[Vec<u8>]) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        w.write_record(fields).unwrap();
        w.into_inner().unwrap()
    }

    #[test]
    fn quoting_examples() {
        let row = [
            b"a".to_vec(),
            b"SYN, ACK".to_vec(),
            b"say \"hi\"".to_vec(),
            b"line\r\nbreak".to_vec(),
            Vec::new(),
        ];
        assert_eq!(
            ours(&row),
            b"a,\"SYN, ACK\",\"say \"\"hi\"\"\",\"line\r\nbreak\",\n".to_vec()
        );
        assert_eq!(ours(&row), theirs(&row));
    }

    proptest! {
        #[test]
        fn quoting_matches_the_csv_crate(
            fields in proptest::collection::vec(
                proptest::collection::vec(
                    prop_oneof![Just(b','), Just(b'"'), Just(b'\r'), Just(b'\n'), Just(b' '), any::<u8>()],
                    0..12,
                ),
                2..8,
            )
        ) {
            prop_assert_eq!(ours(&fields), theirs(&fields));
        }
    }
}
