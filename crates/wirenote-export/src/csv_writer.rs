//! The CSV writer, for every table. The per-packet table is the one with a row per frame,
//! so the one place where formatting cost shows next to dissection.
//!
//! Rows are built directly into one reusable byte buffer (numbers with `itoa`, text
//! quoted only when it must be) and handed to the output 64 KiB at a time; a row's cells
//! come from the schema ([`Table::cell`]) and borrow from the record or one reusable
//! scratch string, so a row allocates nothing. Quoting follows the `csv` crate's
//! `QuoteStyle::Necessary` with its default `\n` terminator byte for byte: a field is
//! quoted when it holds `,`, `"`, `\r` or `\n`, and quotes inside are doubled.
//! `tests::quoting_matches_the_csv_crate` and `csv_fast_path_equals_reference` hold it to
//! that. (One difference, for a future choice of columns: the `csv` crate writes a row of
//! one empty field as `""`; this writer writes an empty line.)

use std::io::{self, Write};
use std::net::IpAddr;

use crate::schema::{Cell, CellSink, Selection, Table};

const FLUSH_AT: usize = 64 * 1024;

/// Writes rows as CSV.
pub(crate) struct CsvWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
    scratch: String,
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

/// Appends a field known to hold no byte that needs quoting (numbers, addresses).
#[inline]
fn push_plain(buf: &mut Vec<u8>, field: &[u8]) {
    debug_assert!(!needs_quotes(field));
    buf.extend_from_slice(field);
    buf.push(b',');
}

/// Appends a cell spelled by its `Display` (the cells that are rare, or not per packet),
/// with its trailing delimiter. None of them needs quoting.
fn push_display(buf: &mut Vec<u8>, cell: &Cell<'_>) {
    let start = buf.len();
    let _ = write!(buf, "{cell}");
    debug_assert!(!needs_quotes(&buf[start..]));
    buf.push(b',');
}

/// Appends one cell and its trailing delimiter: the same text as the cell's `Display`,
/// formatted by hand where it is on the per-packet path.
#[inline(always)]
fn push_cell(buf: &mut Vec<u8>, cell: Cell<'_>) {
    match cell {
        Cell::Null => buf.push(b','),
        Cell::UInt(v) => push_plain(buf, itoa::Buffer::new().format(v).as_bytes()),
        Cell::Text(text) => push_text(buf, text.as_bytes()),
        Cell::Time(t) if t.nanos < 1_000_000_000 => {
            // `secs.nnnnnnnnn`, as `Timestamp`'s Display and `frame.time_epoch`: the
            // nanoseconds zero-padded by formatting them above 10^9 and dropping the 1.
            buf.extend_from_slice(itoa::Buffer::new().format(t.secs).as_bytes());
            let mut padded = itoa::Buffer::new();
            buf.extend_from_slice(padded.format(t.nanos + 1_000_000_000).as_bytes());
            let dot = buf.len() - 10;
            buf[dot] = b'.';
            buf.push(b',');
        }
        // Dotted quads by hand: `Ipv4Addr`'s Display goes through the formatting machinery.
        Cell::Ip(IpAddr::V4(v4)) => {
            let mut num = itoa::Buffer::new();
            for (i, octet) in v4.octets().iter().enumerate() {
                if i > 0 {
                    buf.push(b'.');
                }
                buf.extend_from_slice(num.format(*octet).as_bytes());
            }
            buf.push(b',');
        }
        other => push_display(buf, &other),
    }
}

/// The row being built, as the schema's cell sink.
struct Cells<'b>(&'b mut Vec<u8>);

impl CellSink for Cells<'_> {
    #[inline(always)]
    fn cell(&mut self, cell: Cell<'_>) {
        push_cell(self.0, cell);
    }
}

impl<W: Write> CsvWriter<W> {
    pub(crate) fn new(out: W) -> Self {
        CsvWriter {
            out,
            buf: Vec::with_capacity(FLUSH_AT + 4096),
            scratch: String::with_capacity(64),
        }
    }

    /// Writes the header row.
    pub(crate) fn header<T: Table>(&mut self, columns: &[T]) -> io::Result<()> {
        for column in columns {
            push_text(&mut self.buf, column.name().as_bytes());
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

    /// Writes one row of `record`'s cells for `columns`.
    #[inline]
    pub(crate) fn row<T: Table>(
        &mut self,
        columns: &Selection<T>,
        record: &T::Record,
    ) -> io::Result<()> {
        columns.each_cell(record, &mut self.scratch, &mut Cells(&mut self.buf));
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
