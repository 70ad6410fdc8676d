//! The Excel workbook (`--format xlsx`): one sheet per table (packets, connections, HTTP
//! exchanges: whichever the command writes) and an About sheet, written with
//! `rust_xlsxwriter` in its constant-memory mode (each sheet streams to a temporary file
//! row by row, so memory stays flat whatever the capture's size).
//!
//! Cells are typed: integers, seconds and `time_rel` are numbers (an integer above 2^53,
//! which a spreadsheet's double cannot hold, is written as text), booleans are booleans,
//! addresses and text are strings — never formulas, whatever the capture holds. A time
//! column becomes two: a date-time cell (UTC, shown to the millisecond, which is as far
//! as a spreadsheet's clock goes) under the column's name, and the exact epoch with its 9
//! decimals as text under `NAME_epoch`. Each sheet's header row is frozen and filtered.
//!
//! A sheet holds at most 1,048,576 rows (Excel's limit, the header included): a longer
//! table continues on `Packets (2)`, `Packets (3)`… and the About sheet says how the rows
//! were split. Nothing is truncated.

use std::borrow::Cow;
use std::io::{self, Write};

use rust_xlsxwriter::{Format as CellFormat, Workbook as Book, Worksheet, XlsxError};
use wirenote_core::capture::Timestamp;
use wirenote_core::record::{ConnRecord, ExchangeRecord, PacketRecord};
use wirenote_core::{Frame, Sink, Wants};

use crate::schema::{
    Cell, CellSink, ConnColumn, ExchangeColumn, PacketColumn, Selection, Table, Type,
};
use crate::sinks::StreamOrder;
use crate::{Streams, TableOptions};

/// Excel's rows per sheet, the header included.
pub const EXCEL_MAX_ROWS: u32 = 1_048_576;

/// Excel's longest text cell, in UTF-16 units.
const MAX_TEXT: usize = 32_767;

/// 1970-01-01 as an Excel serial day number.
const UNIX_EPOCH_SERIAL: f64 = 25_569.0;

/// What the About sheet tells besides the tables.
#[derive(Debug, Clone)]
pub struct WorkbookInfo {
    /// The capture's file name.
    pub capture: String,
    /// The wirenote version that wrote it (`--version`'s text).
    pub version: String,
    /// Rows per sheet, the header included: [`EXCEL_MAX_ROWS`] (smaller only in tests,
    /// which check the split on small captures).
    pub rows_per_sheet: u32,
}

/// Which tables the workbook holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sheets {
    /// One row per frame.
    pub packets: bool,
    /// One row per connection.
    pub connections: bool,
    /// One row per HTTP exchange.
    pub exchanges: bool,
}

fn xlsx_error(err: XlsxError) -> io::Error {
    match err {
        XlsxError::IoError(err) => err,
        other => io::Error::other(other.to_string()),
    }
}

/// The formats cells are written with.
struct Formats {
    header: CellFormat,
    datetime: CellFormat,
}

/// One column of a sheet: a schema column, or the exact epoch text beside a time column.
struct SheetColumn {
    name: String,
    width: f64,
}

/// The columns of `selection` as sheet columns (a time column is followed by its epoch).
fn sheet_columns<T: Table>(selection: &Selection<T>) -> Vec<SheetColumn> {
    let mut out = Vec::new();
    for column in selection.columns() {
        let spec = column.spec();
        let width = match (spec.ty, spec.name) {
            (_, "info") => 60.0,
            (_, "uri") => 40.0,
            (_, "host" | "content_type" | "analysis" | "role" | "http_note") => 22.0,
            (Type::Time, _) => 23.0,
            (Type::Address, _) => 22.0,
            (Type::Seconds, _) => 13.0,
            (Type::Integer | Type::Boolean, _) => 9.0,
            (Type::Text, _) => 14.0,
        };
        let width = f64::max(width, spec.name.len() as f64 + 3.0);
        out.push(SheetColumn {
            name: spec.name.to_owned(),
            width,
        });
        if spec.ty == Type::Time {
            out.push(SheetColumn {
                name: format!("{}_epoch", spec.name),
                width: 22.0,
            });
        }
    }
    out
}

/// What every sheet's rows are written with.
struct Ctx {
    book: Book,
    formats: Formats,
    rows_per_sheet: u32,
    /// The first frame's time, which `time_rel` counts from.
    origin: Option<Timestamp>,
    scratch: String,
    /// Text cells cut at Excel's limit.
    long_cells: u64,
}

/// One table's sheets: `Title`, then `Title (2)`… as rows overflow.
struct Part<T: Table> {
    title: &'static str,
    selection: Selection<T>,
    columns: Vec<SheetColumn>,
    /// Index of the current sheet in the workbook, once the first row came.
    sheet: Option<usize>,
    /// Each sheet of this table: its name, index and data rows.
    sheets: Vec<(String, usize, u64)>,
    /// The next row on the current sheet (0 is the header).
    row: u32,
    written: u64,
}

impl<T: Table> Part<T> {
    fn new(title: &'static str, selection: Selection<T>) -> Part<T> {
        Part {
            title,
            columns: sheet_columns(&selection),
            selection,
            sheet: None,
            sheets: Vec::new(),
            row: 0,
            written: 0,
        }
    }

    /// Opens a new sheet for this table (the next part when one is full).
    fn open(&mut self, book: &mut Book, formats: &Formats) -> Result<(), XlsxError> {
        let name = match self.sheets.len() {
            0 => self.title.to_owned(),
            n => format!("{} ({})", self.title, n + 1),
        };
        let index = book.worksheets().len();
        let sheet = book.add_worksheet_with_constant_memory()?;
        sheet.set_name(&name)?;
        for (col, column) in self.columns.iter().enumerate() {
            sheet.set_column_width(col as u16, column.width)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        for (col, column) in self.columns.iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, &column.name, &formats.header)?;
        }
        self.sheets.push((name, index, 0));
        self.sheet = Some(index);
        self.row = 1;
        Ok(())
    }

    /// Sets the filter of the current sheet over its rows.
    fn close(&mut self, book: &mut Book) -> Result<(), XlsxError> {
        if let Some(index) = self.sheet {
            let last_col = self.columns.len().saturating_sub(1) as u16;
            let sheet = book.worksheet_from_index(index)?;
            sheet.autofilter(0, 0, self.row.saturating_sub(1).max(1), last_col)?;
        }
        Ok(())
    }

    fn write(&mut self, ctx: &mut Ctx, record: &T::Record) -> Result<(), XlsxError> {
        if self.sheet.is_none() || self.row >= ctx.rows_per_sheet {
            self.close(&mut ctx.book)?;
            self.open(&mut ctx.book, &ctx.formats)?;
        }
        let index = self.sheet.unwrap_or_default();
        let sheet = ctx.book.worksheet_from_index(index)?;
        let mut cells = Cells {
            sheet,
            row: self.row,
            col: 0,
            origin: ctx.origin,
            datetime: &ctx.formats.datetime,
            error: None,
            long_cells: &mut ctx.long_cells,
        };
        self.selection
            .each_cell(record, &mut ctx.scratch, &mut cells);
        if let Some(err) = cells.error {
            return Err(err);
        }
        self.row += 1;
        self.written += 1;
        if let Some(last) = self.sheets.last_mut() {
            last.2 += 1;
        }
        Ok(())
    }
}

/// One row's cells into a sheet.
struct Cells<'a> {
    sheet: &'a mut Worksheet,
    row: u32,
    col: u16,
    origin: Option<Timestamp>,
    datetime: &'a CellFormat,
    error: Option<XlsxError>,
    long_cells: &'a mut u64,
}

impl Cells<'_> {
    fn text(&mut self, text: &str) -> Result<(), XlsxError> {
        let text = if text.len() > MAX_TEXT && text.encode_utf16().count() > MAX_TEXT {
            // Excel holds no longer text; the About sheet counts the cells cut.
            *self.long_cells += 1;
            let mut units = 0;
            let end = text
                .char_indices()
                .find(|(_, c)| {
                    units += c.len_utf16();
                    units > MAX_TEXT
                })
                .map_or(text.len(), |(i, _)| i);
            &text[..end]
        } else {
            text
        };
        self.sheet.write_string(self.row, self.col, text)?;
        Ok(())
    }

    fn put(&mut self, cell: Cell<'_>) -> Result<(), XlsxError> {
        let (row, col) = (self.row, self.col);
        match cell {
            Cell::Null => {}
            Cell::UInt(v) if v <= 1 << 53 => {
                self.sheet.write_number(row, col, v as f64)?;
            }
            Cell::UInt(v) => self.text(&v.to_string())?,
            Cell::Bool(v) => {
                self.sheet.write_boolean(row, col, v)?;
            }
            Cell::Seconds(v) => {
                self.sheet.write_number(row, col, v)?;
            }
            Cell::Since(t) => {
                let seconds = Cell::since_nanos(t, self.origin) as f64 / 1e9;
                self.sheet.write_number(row, col, seconds)?;
            }
            Cell::Time(t) => {
                let serial = UNIX_EPOCH_SERIAL + t.as_nanos() as f64 / 86_400e9;
                // Excel's dates start in 1900: an earlier time has only its epoch text.
                if serial >= 1.0 {
                    self.sheet
                        .write_number_with_format(row, col, serial, self.datetime)?;
                }
                self.col += 1;
                self.text(&t.to_string())?;
            }
            Cell::Ip(v) => self.text(&v.to_string())?,
            Cell::Endpoint(v) => self.text(&v.to_string())?,
            Cell::Text(v) => self.text(v)?,
            Cell::Word(v) => self.text(v)?,
        }
        self.col += 1;
        Ok(())
    }
}

impl CellSink for Cells<'_> {
    fn cell(&mut self, cell: Cell<'_>) {
        if self.error.is_none() {
            if let Err(err) = self.put(cell) {
                self.error = Some(err);
            }
        }
    }
}

/// A workbook of the tables a command writes, as a [`Sink`]: rows go to their sheets as
/// they come (connections in stream order), and `finish` writes the About sheet and the
/// file.
pub struct Workbook<W: Write + Send> {
    ctx: Ctx,
    out: Option<W>,
    info: WorkbookInfo,
    packets: Option<Part<PacketColumn>>,
    connections: Option<Part<ConnColumn>>,
    exchanges: Option<Part<ExchangeColumn>>,
    order: StreamOrder,
    streams: Streams,
    frames: u64,
}

impl<W: Write + Send> Workbook<W> {
    /// A workbook of `sheets` with `options`' columns and rows, written to `out` when the
    /// capture is complete.
    pub fn new(
        out: W,
        sheets: Sheets,
        options: &TableOptions,
        info: WorkbookInfo,
    ) -> io::Result<Workbook<W>> {
        let mut book = Book::new();
        // Excel's own level: much faster than the default 6 for a file 5 % larger.
        book.set_zip_compression_level(3);
        // The About sheet first, in memory (it is small and filled at the end); it moves
        // behind the tables when the file is written.
        book.add_worksheet().set_name("About").map_err(xlsx_error)?;
        let formats = Formats {
            header: CellFormat::new().set_bold(),
            datetime: CellFormat::new().set_num_format("yyyy-mm-dd hh:mm:ss.000"),
        };
        let rows_per_sheet = info.rows_per_sheet.clamp(2, EXCEL_MAX_ROWS);
        Ok(Workbook {
            ctx: Ctx {
                book,
                formats,
                rows_per_sheet,
                origin: None,
                scratch: String::new(),
                long_cells: 0,
            },
            out: Some(out),
            info,
            packets: sheets
                .packets
                .then(|| Part::new("Packets", options.packets.clone())),
            connections: sheets
                .connections
                .then(|| Part::new("Connections", options.connections.clone())),
            exchanges: sheets
                .exchanges
                .then(|| Part::new("HTTP", options.exchanges.clone())),
            order: StreamOrder::default(),
            streams: options.streams.clone(),
            frames: 0,
        })
    }

    /// Rows written to the connection sheets so far.
    pub fn connections_written(&self) -> u64 {
        self.connections.as_ref().map_or(0, |p| p.written)
    }

    /// Rows written to the exchange sheets so far.
    pub fn exchanges_written(&self) -> u64 {
        self.exchanges.as_ref().map_or(0, |p| p.written)
    }

    /// The About sheet's lines: the capture, the sheets and their rows, the columns.
    fn about_lines(&self) -> Vec<[Cow<'static, str>; 5]> {
        let mut lines: Vec<[Cow<'static, str>; 5]> = Vec::new();
        let line = |a: &str, b: String| {
            [
                a.to_owned().into(),
                b.into(),
                "".into(),
                "".into(),
                "".into(),
            ]
        };
        lines.push(line("capture", self.info.capture.clone()));
        lines.push(line("frames", self.frames.to_string()));
        lines.push(line(
            "written by",
            format!("wirenote {}", self.info.version),
        ));
        lines.push(line(
            "times",
            "date-time cells are UTC, shown to the millisecond; NAME_epoch holds the exact \
             epoch seconds (9 decimals) as text; time_rel is seconds since the first frame"
                .to_owned(),
        ));
        let mut split = false;
        let mut sheets_lines = Vec::new();
        for (title, sheets) in [
            ("packets", self.packets.as_ref().map(|p| &p.sheets)),
            ("connections", self.connections.as_ref().map(|p| &p.sheets)),
            ("HTTP exchanges", self.exchanges.as_ref().map(|p| &p.sheets)),
        ] {
            let Some(sheets) = sheets else { continue };
            let total: u64 = sheets.iter().map(|s| s.2).sum();
            let names: Vec<String> = sheets
                .iter()
                .map(|(name, _, rows)| format!("{name}: {rows} rows"))
                .collect();
            split |= sheets.len() > 1;
            sheets_lines.push(line(
                title,
                if names.is_empty() {
                    "no rows".to_owned()
                } else {
                    format!("{total} rows ({})", names.join("; "))
                },
            ));
        }
        lines.extend(sheets_lines);
        if split {
            lines.push(line(
                "split",
                format!(
                    "a sheet holds at most {} rows under its header: longer tables continue \
                     on the next sheet of the same name, numbered; no row was left out",
                    self.ctx.rows_per_sheet - 1
                ),
            ));
        }
        if self.ctx.long_cells > 0 {
            lines.push(line(
                "cut",
                format!(
                    "{} text cells were longer than Excel's 32,767 characters and were cut \
                     there",
                    self.ctx.long_cells
                ),
            ));
        }
        lines.push(line("", String::new()));
        lines.push([
            "sheet".into(),
            "column".into(),
            "type".into(),
            "meaning".into(),
            "tshark field (or Zeek log and field)".into(),
        ]);
        fn describe<T: Table>(
            lines: &mut Vec<[Cow<'_, str>; 5]>,
            title: &str,
            selection: &Selection<T>,
        ) {
            for column in selection.columns() {
                let spec = column.spec();
                let plain = |s: String| s.replace('`', "");
                lines.push([
                    title.to_owned().into(),
                    spec.name.into(),
                    spec.ty.as_str().into(),
                    plain(spec.about.to_owned()).into(),
                    plain(spec.mirror.to_string()).into(),
                ]);
                if spec.ty == Type::Time {
                    lines.push([
                        title.to_owned().into(),
                        format!("{}_epoch", spec.name).into(),
                        "text".into(),
                        format!("{}, exact: epoch seconds with 9 decimals", spec.name).into(),
                        plain(spec.mirror.to_string()).into(),
                    ]);
                }
            }
        }
        if let Some(p) = &self.packets {
            describe(&mut lines, "Packets", &p.selection);
        }
        if let Some(p) = &self.connections {
            describe(&mut lines, "Connections", &p.selection);
        }
        if let Some(p) = &self.exchanges {
            describe(&mut lines, "HTTP", &p.selection);
        }
        lines
    }

    fn write_about(&mut self) -> Result<(), XlsxError> {
        let lines = self.about_lines();
        let header = &self.ctx.formats.header;
        let about = self.ctx.book.worksheet_from_index(0)?;
        about.set_column_width(0, 16)?;
        about.set_column_width(1, 20)?;
        about.set_column_width(2, 9)?;
        about.set_column_width(3, 80)?;
        about.set_column_width(4, 36)?;
        let mut in_columns = false;
        for (row, cells) in lines.iter().enumerate() {
            let header_row = cells[0] == "sheet";
            in_columns |= header_row;
            for (col, text) in cells.iter().enumerate() {
                if text.is_empty() {
                    continue;
                }
                if header_row || (!in_columns && col == 0) {
                    about.write_string_with_format(
                        row as u32,
                        col as u16,
                        text.as_ref(),
                        header,
                    )?;
                } else {
                    about.write_string(row as u32, col as u16, text.as_ref())?;
                }
            }
        }
        Ok(())
    }

    fn save(&mut self) -> Result<(), XlsxError> {
        let Some(out) = self.out.take() else {
            return Ok(());
        };
        // An empty table still gets its sheet, with its header.
        let (book, formats) = (&mut self.ctx.book, &self.ctx.formats);
        if let Some(p) = self.packets.as_mut() {
            if p.sheet.is_none() {
                p.open(book, formats)?;
            }
            p.close(book)?;
        }
        if let Some(p) = self.connections.as_mut() {
            if p.sheet.is_none() {
                p.open(book, formats)?;
            }
            p.close(book)?;
        }
        if let Some(p) = self.exchanges.as_mut() {
            if p.sheet.is_none() {
                p.open(book, formats)?;
            }
            p.close(book)?;
        }
        self.write_about()?;
        // Sheets in reading order: each table's parts together, the About sheet last.
        let mut rank = vec![usize::MAX; self.ctx.book.worksheets().len()];
        let parts: [Option<Vec<usize>>; 3] = [
            self.packets
                .as_ref()
                .map(|p| p.sheets.iter().map(|s| s.1).collect()),
            self.connections
                .as_ref()
                .map(|p| p.sheets.iter().map(|s| s.1).collect()),
            self.exchanges
                .as_ref()
                .map(|p| p.sheets.iter().map(|s| s.1).collect()),
        ];
        for (next, index) in parts.into_iter().flatten().flatten().enumerate() {
            rank[index] = next;
        }
        let book = &mut self.ctx.book;
        let mut sheets: Vec<(usize, Worksheet)> = rank
            .into_iter()
            .zip(book.worksheets_mut().drain(..))
            .collect();
        sheets.sort_by_key(|(rank, _)| *rank);
        book.worksheets_mut()
            .extend(sheets.into_iter().map(|(_, sheet)| sheet));
        if let Some(first) = book.worksheets_mut().first_mut() {
            first.set_active(true);
        }
        book.save_to_writer(out)
    }
}

impl<W: Write + Send> Sink for Workbook<W> {
    fn wants(&self) -> Wants {
        Wants {
            connections: self.connections.is_some(),
            exchanges: self.exchanges.is_some(),
            ignores_rows: false,
        }
    }

    fn packet(&mut self, frame: &Frame<'_>, row: &PacketRecord) -> io::Result<()> {
        self.frames += 1;
        if self.ctx.origin.is_none() {
            self.ctx.origin = frame.timestamp;
        }
        let Some(part) = self.packets.as_mut() else {
            return Ok(());
        };
        if !self.streams.keeps(row.tcp.as_ref().map(|t| t.stream)) {
            return Ok(());
        }
        part.write(&mut self.ctx, row).map_err(xlsx_error)
    }

    fn connections(&mut self, conns: &[ConnRecord]) -> io::Result<()> {
        let Some(part) = self.connections.as_mut() else {
            return Ok(());
        };
        let (ctx, streams) = (&mut self.ctx, &self.streams);
        self.order.push(conns, |record| {
            if !streams.keeps(Some(record.stream)) {
                return Ok(());
            }
            part.write(ctx, record).map_err(xlsx_error)
        })
    }

    fn exchanges(&mut self, exchanges: &[ExchangeRecord]) -> io::Result<()> {
        let Some(part) = self.exchanges.as_mut() else {
            return Ok(());
        };
        for record in exchanges {
            if !self.streams.keeps(Some(record.stream)) {
                continue;
            }
            part.write(&mut self.ctx, record).map_err(xlsx_error)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.save().map_err(xlsx_error)
    }
}
