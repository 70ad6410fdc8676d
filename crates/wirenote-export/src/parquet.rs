//! Apache Parquet tables, typed from the column schema: every column's [`Type`] becomes an
//! Arrow type, so a column added to the schema appears here without a change.
//!
//! | schema type | Arrow / Parquet type |
//! |---|---|
//! | `integer` | UInt64 |
//! | `seconds` | Float64 |
//! | `time` | Timestamp(Nanosecond, UTC) |
//! | `boolean` | Boolean |
//! | `text`, `address` | Utf8, dictionary-encoded in the file |
//!
//! [`Cell::Null`] is a null. Rows are gathered into Arrow batches of [`BATCH_ROWS`] and
//! handed to parquet's `ArrowWriter`, which compresses pages with zstd as they fill and
//! writes a row group every [`ROW_GROUP_ROWS`] rows: memory stays bounded by one row
//! group, whatever the capture's size. A `capture` column can lead the table (a batch's
//! datasets name each row's capture, so that one query reads many captures).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::IpAddr;
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, StringBuilder, TimestampNanosecondBuilder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use wirenote_core::capture::Timestamp;
use wirenote_core::record::{ConnRecord, ExchangeRecord, PacketRecord};
use wirenote_core::{Frame, Sink, Wants};

use crate::schema::{
    dotted_quad, Cell, CellSink, ConnColumn, ExchangeColumn, PacketColumn, Selection, Table, Type,
};

/// Rows gathered before they go to the Parquet writer as one Arrow batch.
pub const BATCH_ROWS: usize = 8 * 1024;
/// Rows per row group.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;
/// The name of the leading column naming the capture.
pub const CAPTURE_COLUMN: &str = "capture";

/// The Arrow type of a schema type.
pub fn arrow_type(ty: Type) -> DataType {
    match ty {
        Type::Integer => DataType::UInt64,
        Type::Seconds => DataType::Float64,
        Type::Time => DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
        Type::Boolean => DataType::Boolean,
        Type::Address | Type::Text => DataType::Utf8,
    }
}

/// A field's metadata: its description, from the schema.
fn described(about: &str) -> std::collections::HashMap<String, String> {
    [("description".to_owned(), about.to_owned())].into()
}

/// The Arrow schema of `columns`, led by a `capture` column when `with_capture`.
pub fn arrow_schema<T: Table>(columns: &Selection<T>, with_capture: bool) -> Schema {
    let capture = with_capture.then(|| {
        Field::new(CAPTURE_COLUMN, DataType::Utf8, false).with_metadata(described(
            "the capture's path, relative to the batch's input",
        ))
    });
    let fields = capture.into_iter().chain(columns.columns().iter().map(|c| {
        let spec = c.spec();
        Field::new(spec.name, arrow_type(spec.ty), true).with_metadata(described(spec.about))
    }));
    Schema::new(fields.collect::<Vec<_>>())
}

/// The builder of one column.
enum Column {
    UInt(UInt64Builder),
    Float(Float64Builder),
    Time(TimestampNanosecondBuilder),
    Bool(BooleanBuilder),
    Text(StringBuilder),
}

impl Column {
    fn new(ty: Type) -> Column {
        match ty {
            Type::Integer => Column::UInt(UInt64Builder::with_capacity(BATCH_ROWS)),
            Type::Seconds => Column::Float(Float64Builder::with_capacity(BATCH_ROWS)),
            Type::Time => Column::Time(
                TimestampNanosecondBuilder::with_capacity(BATCH_ROWS).with_timezone("UTC"),
            ),
            Type::Boolean => Column::Bool(BooleanBuilder::with_capacity(BATCH_ROWS)),
            Type::Address | Type::Text => {
                Column::Text(StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 8))
            }
        }
    }

    /// Appends `cell`; a cell of another type than the column's (the schema's tests rule
    /// it out) is a null, except that a text column spells any cell. A time since the
    /// capture's first frame (`origin`) is its seconds, as the workbook writes it.
    #[inline(always)]
    fn push(&mut self, cell: Cell<'_>, text: &mut String, origin: Option<Timestamp>) {
        match (self, cell) {
            (Column::UInt(b), Cell::UInt(v)) => b.append_value(v),
            (Column::Float(b), Cell::Seconds(v)) => b.append_value(v),
            (Column::Float(b), Cell::Since(t)) => {
                b.append_value(Cell::since_nanos(t, origin) as f64 / 1e9);
            }
            (Column::Time(b), Cell::Time(t)) => {
                let nanos = i64::try_from(i128::from(t.secs) * 1_000_000_000 + i128::from(t.nanos));
                b.append_option(nanos.ok());
            }
            (Column::Bool(b), Cell::Bool(v)) => b.append_value(v),
            // An empty cell is a null, as in JSON (`analysis` on a segment with no flags).
            (Column::Text(b), Cell::Null | Cell::Text("") | Cell::Word("")) => b.append_null(),
            (Column::Text(b), Cell::Text(v)) => b.append_value(v),
            (Column::Text(b), Cell::Word(v)) => b.append_value(v),
            (Column::Text(b), Cell::Ip(IpAddr::V4(v4))) => b.append_value(dotted_quad(v4).as_str()),
            (Column::Text(b), other) => {
                text.clear();
                let _ = write!(text, "{other}");
                b.append_value(text.as_str());
            }
            (Column::UInt(b), _) => b.append_null(),
            (Column::Float(b), _) => b.append_null(),
            (Column::Time(b), _) => b.append_null(),
            (Column::Bool(b), _) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Column::UInt(b) => Arc::new(b.finish()),
            Column::Float(b) => Arc::new(b.finish()),
            Column::Time(b) => Arc::new(b.finish()),
            Column::Bool(b) => Arc::new(b.finish()),
            Column::Text(b) => Arc::new(b.finish()),
        }
    }
}

/// A row's cells going into the column builders, as the schema's cell sink.
struct Cells<'b> {
    columns: &'b mut [Column],
    at: usize,
    text: &'b mut String,
    origin: Option<Timestamp>,
}

impl CellSink for Cells<'_> {
    #[inline(always)]
    fn cell(&mut self, cell: Cell<'_>) {
        if let Some(column) = self.columns.get_mut(self.at) {
            column.push(cell, self.text, self.origin);
        }
        self.at += 1;
    }
}

/// A parquet error as an I/O error: the output's own error (which names it) when that
/// is what it was.
fn io_error(err: ParquetError) -> io::Error {
    match err {
        ParquetError::External(inner) => match inner.downcast::<io::Error>() {
            Ok(io) => *io,
            Err(other) => io::Error::other(other),
        },
        other => io::Error::other(other),
    }
}

/// The writer settings of a table of `columns`: dictionaries for the strings (roles,
/// states, addresses repeat); numbers and times written plain and left to zstd, which is
/// faster than hashing them; statistics per column chunk, not per page.
fn writer_properties<T: Table>(columns: &Selection<T>) -> WriterProperties {
    let mut props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_created_by(format!("wirenote {}", env!("CARGO_PKG_VERSION")));
    for column in columns.columns() {
        let spec = column.spec();
        let strings = matches!(spec.ty, Type::Text | Type::Address);
        props = props.set_column_dictionary_enabled(ColumnPath::from(spec.name), strings);
    }
    props.build()
}

/// A table's rows gathered into Arrow arrays, [`BATCH_ROWS`] at a time.
struct Gathered<T: Table> {
    schema: SchemaRef,
    columns: Selection<T>,
    builders: Vec<Column>,
    capture: Option<String>,
    rows: usize,
    scratch: String,
    text: String,
    /// The capture's first frame time, which `*_rel` columns count from.
    origin: Option<Timestamp>,
}

impl<T: Table> Gathered<T> {
    fn new(columns: Selection<T>, capture: Option<&str>) -> Self {
        let schema = Arc::new(arrow_schema(&columns, capture.is_some()));
        let builders = columns
            .columns()
            .iter()
            .map(|c| Column::new(c.spec().ty))
            .collect();
        Gathered {
            schema,
            columns,
            builders,
            capture: capture.map(str::to_owned),
            rows: 0,
            scratch: String::new(),
            text: String::new(),
            origin: None,
        }
    }

    /// Sees a frame's time: the first one known is the origin of the `*_rel` columns.
    #[inline]
    fn origin(&mut self, time: Option<Timestamp>) {
        if self.origin.is_none() {
            self.origin = time;
        }
    }

    /// Appends one row; returns the batch it filled, if it did.
    #[inline]
    fn row(&mut self, record: &T::Record) -> io::Result<Option<RecordBatch>> {
        let mut cells = Cells {
            columns: &mut self.builders,
            at: 0,
            text: &mut self.text,
            origin: self.origin,
        };
        self.columns
            .each_cell(record, &mut self.scratch, &mut cells);
        self.rows += 1;
        if self.rows >= BATCH_ROWS {
            return self.batch();
        }
        Ok(None)
    }

    /// The rows gathered so far as one Arrow batch (`None` when there are none).
    fn batch(&mut self) -> io::Result<Option<RecordBatch>> {
        if self.rows == 0 {
            return Ok(None);
        }
        let capture = self.capture.as_deref().map(|name| {
            Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                name, self.rows,
            ))) as ArrayRef
        });
        let arrays: Vec<ArrayRef> = capture
            .into_iter()
            .chain(self.builders.iter_mut().map(Column::finish))
            .collect();
        self.rows = 0;
        RecordBatch::try_new(Arc::clone(&self.schema), arrays)
            .map(Some)
            .map_err(io::Error::other)
    }
}

/// One table written as Parquet, one row at a time.
pub struct ParquetTable<T: Table, W: Write + Send> {
    writer: Option<ArrowWriter<W>>,
    gathered: Gathered<T>,
    written: u64,
}

impl<T: Table, W: Write + Send> ParquetTable<T, W> {
    /// A table of `columns` on `out`, led by a `capture` column holding `capture` when
    /// given. The file's header is written now, its footer by [`ParquetTable::finish`].
    pub fn new(out: W, columns: Selection<T>, capture: Option<&str>) -> io::Result<Self> {
        let props = writer_properties(&columns);
        let gathered = Gathered::new(columns, capture);
        let writer = ArrowWriter::try_new(out, Arc::clone(&gathered.schema), Some(props))
            .map_err(io_error)?;
        Ok(ParquetTable {
            writer: Some(writer),
            gathered,
            written: 0,
        })
    }

    /// Sees a frame's time: the first one known is the origin of the `*_rel` columns.
    #[inline]
    pub fn origin(&mut self, time: Option<Timestamp>) {
        self.gathered.origin(time);
    }

    /// Rows written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Appends one row.
    #[inline]
    pub fn row(&mut self, record: &T::Record) -> io::Result<()> {
        self.written += 1;
        match self.gathered.row(record)? {
            Some(batch) => self.write(&batch),
            None => Ok(()),
        }
    }

    fn write(&mut self, batch: &RecordBatch) -> io::Result<()> {
        match self.writer.as_mut() {
            Some(writer) => writer.write(batch).map_err(io_error),
            None => Err(io::Error::other("Parquet table already finished")),
        }
    }

    /// Writes the rows that wait and the file's footer. Later calls do nothing.
    pub fn finish(&mut self) -> io::Result<()> {
        if self.writer.is_none() {
            return Ok(());
        }
        if let Some(batch) = self.gathered.batch()? {
            self.write(&batch)?;
        }
        match self.writer.take() {
            // The footer, then a flush of the output (an error keeps its kind).
            Some(mut writer) => writer.finish().map(drop).map_err(io_error),
            None => Ok(()),
        }
    }
}

/// What the rows' half of a split table hands its encoder.
enum ToEncoder {
    /// Rows, gathered.
    Batch(RecordBatch),
    /// The rows are complete: the table may be finished.
    Complete,
}

/// Batches in flight between a split table's halves (and so the most rows it holds
/// beyond a row group).
const BATCHES_IN_FLIGHT: usize = 2;

/// The per-packet table in two halves, for two threads: the rows' half, a [`Sink`] on the
/// thread that makes the rows, gathers them into Arrow arrays; the encoder, on a thread of
/// its own ([`ParquetEncoder::run`]), compresses and writes them. One writer thread doing
/// both had three times the second pass's work (callgrind), so the run waited for it.
pub fn split_packet_parquet<W: Write + Send>(
    out: W,
    capture: Option<&str>,
) -> (PacketParquetRows, ParquetEncoder<W>) {
    let props = writer_properties(&Selection::<PacketColumn>::All);
    let gathered = Gathered::new(Selection::All, capture);
    let schema = Arc::clone(&gathered.schema);
    let (to_encoder, from_rows) = std::sync::mpsc::sync_channel(BATCHES_IN_FLIGHT);
    let rows = PacketParquetRows {
        gathered,
        to_encoder,
    };
    let encoder = ParquetEncoder {
        out,
        schema,
        props,
        from_rows,
    };
    (rows, encoder)
}

/// The rows' half of [`split_packet_parquet`].
pub struct PacketParquetRows {
    gathered: Gathered<PacketColumn>,
    to_encoder: SyncSender<ToEncoder>,
}

impl PacketParquetRows {
    fn send(&self, message: ToEncoder) -> io::Result<()> {
        self.to_encoder
            .send(message)
            .map_err(|_| io::Error::other("the Parquet writer stopped"))
    }
}

impl Sink for PacketParquetRows {
    fn packet(&mut self, frame: &Frame<'_>, row: &PacketRecord) -> io::Result<()> {
        self.gathered.origin(frame.timestamp);
        match self.gathered.row(row)? {
            Some(batch) => self.send(ToEncoder::Batch(batch)),
            None => Ok(()),
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        if let Some(batch) = self.gathered.batch()? {
            self.send(ToEncoder::Batch(batch))?;
        }
        self.send(ToEncoder::Complete)
    }
}

/// The encoding half of [`split_packet_parquet`].
pub struct ParquetEncoder<W: Write + Send> {
    out: W,
    schema: SchemaRef,
    props: WriterProperties,
    from_rows: Receiver<ToEncoder>,
}

impl<W: Write + Send> ParquetEncoder<W> {
    /// Writes the batches as they come, and the footer once the rows are complete. The
    /// file starts with the first message: rows that fail before any (an unreadable
    /// capture) write nothing at all, and rows that fail later (their half is dropped
    /// without completing) leave the table without its footer, for the caller to discard.
    pub fn run(self) -> io::Result<()> {
        let ParquetEncoder {
            out,
            schema,
            props,
            from_rows,
        } = self;
        let Ok(first) = from_rows.recv() else {
            return Ok(());
        };
        let mut writer = ArrowWriter::try_new(out, schema, Some(props)).map_err(io_error)?;
        for message in std::iter::once(first).chain(from_rows) {
            match message {
                ToEncoder::Batch(batch) => writer.write(&batch).map_err(io_error)?,
                ToEncoder::Complete => return writer.finish().map(drop).map_err(io_error),
            }
        }
        Ok(())
    }
}

/// One row per packet, as Parquet.
pub struct PacketParquet<W: Write + Send>(ParquetTable<PacketColumn, W>);

impl<W: Write + Send> PacketParquet<W> {
    /// A packet table on `out`, led by a `capture` column when `capture` is given.
    pub fn new(out: W, capture: Option<&str>) -> io::Result<Self> {
        ParquetTable::new(out, Selection::All, capture).map(PacketParquet)
    }
}

impl<W: Write + Send> Sink for PacketParquet<W> {
    fn packet(&mut self, frame: &Frame<'_>, row: &PacketRecord) -> io::Result<()> {
        self.0.origin(frame.timestamp);
        self.0.row(row)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.0.finish()
    }
}

/// One row per connection, in stream order (as `ConnTable`), as Parquet.
pub struct ConnParquet<W: Write + Send> {
    table: ParquetTable<ConnColumn, W>,
    next: u64,
    waiting: BTreeMap<u64, ConnRecord>,
}

impl<W: Write + Send> ConnParquet<W> {
    /// A connection table on `out`, led by a `capture` column when `capture` is given.
    pub fn new(out: W, capture: Option<&str>) -> io::Result<Self> {
        Ok(ConnParquet {
            table: ParquetTable::new(out, Selection::All, capture)?,
            next: 0,
            waiting: BTreeMap::new(),
        })
    }
}

impl<W: Write + Send> Sink for ConnParquet<W> {
    fn wants(&self) -> Wants {
        Wants {
            connections: true,
            exchanges: false,
            ignores_rows: true,
        }
    }

    fn packet(&mut self, frame: &Frame<'_>, _row: &PacketRecord) -> io::Result<()> {
        self.table.origin(frame.timestamp);
        Ok(())
    }

    fn connections(&mut self, conns: &[ConnRecord]) -> io::Result<()> {
        for conn in conns {
            self.waiting.insert(conn.stream, conn.clone());
        }
        while let Some(record) = self.waiting.remove(&self.next) {
            self.table.row(&record)?;
            self.next += 1;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.table.finish()
    }
}

/// One row per HTTP exchange, as Parquet.
pub struct ExchangeParquet<W: Write + Send>(ParquetTable<ExchangeColumn, W>);

impl<W: Write + Send> ExchangeParquet<W> {
    /// An exchange table on `out`, led by a `capture` column when `capture` is given.
    pub fn new(out: W, capture: Option<&str>) -> io::Result<Self> {
        ParquetTable::new(out, Selection::All, capture).map(ExchangeParquet)
    }
}

impl<W: Write + Send> Sink for ExchangeParquet<W> {
    fn wants(&self) -> Wants {
        Wants {
            connections: false,
            exchanges: true,
            ignores_rows: true,
        }
    }

    fn packet(&mut self, frame: &Frame<'_>, _row: &PacketRecord) -> io::Result<()> {
        self.0.origin(frame.timestamp);
        Ok(())
    }

    fn exchanges(&mut self, exchanges: &[ExchangeRecord]) -> io::Result<()> {
        exchanges.iter().try_for_each(|e| self.0.row(e))
    }

    fn finish(&mut self) -> io::Result<()> {
        self.0.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, TimestampNanosecondType, UInt64Type};
    use arrow_array::Array;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::basic::Encoding;

    fn packets_file(records: &[PacketRecord], capture: Option<&str>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut table =
            ParquetTable::<PacketColumn, _>::new(&mut out, Selection::All, capture).unwrap();
        for record in records {
            table.origin(record.time);
            table.row(record).unwrap();
        }
        table.finish().unwrap();
        drop(table);
        out
    }

    /// `records` through the two halves of [`split_packet_parquet`] on two threads, the
    /// rows' half finished when `complete`, else dropped (as after a failed run).
    fn split_file(records: &[PacketRecord], complete: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let (mut rows, encoder) = split_packet_parquet(&mut out, None);
        std::thread::scope(|scope| {
            let encoding = scope.spawn(move || encoder.run());
            for (i, record) in records.iter().enumerate() {
                let frame = Frame::packet(i as u64 + 1, record.time, 1, &[]);
                rows.packet(&frame, record).unwrap();
            }
            if complete {
                rows.finish().unwrap();
            }
            drop(rows);
            encoding.join().unwrap().unwrap();
        });
        out
    }

    /// Gathering rows on one thread and encoding them on another writes the very file one
    /// table writes; rows that never complete leave no footer, and none at all nothing.
    #[test]
    fn the_split_table_writes_what_one_table_writes() {
        let one = crate::tests::packet_records();
        let many: Vec<PacketRecord> = one
            .iter()
            .cycle()
            .take(2 * BATCH_ROWS + 5)
            .cloned()
            .collect();
        for records in [&one[..], &many[..], &[]] {
            assert_eq!(split_file(records, true), packets_file(records, None));
        }
        let unfinished = split_file(&many, false);
        assert!(!unfinished.is_empty(), "full batches were written");
        assert!(
            ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(unfinished)).is_err(),
            "but no footer: not a Parquet file"
        );
        assert!(
            split_file(&one, false).is_empty(),
            "no batch was full: nothing written"
        );
        assert!(split_file(&[], false).is_empty());
    }

    fn read(bytes: Vec<u8>) -> Vec<RecordBatch> {
        ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
            .unwrap()
            .build()
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn columns_are_typed_from_the_schema() {
        let records = crate::tests::packet_records();
        let batches = read(packets_file(&records, Some("labs/a.pcap")));
        let batch = &batches[0];
        assert_eq!(batch.num_rows(), records.len());
        let schema = batch.schema();
        assert_eq!(schema.field(0).name(), "capture");
        for (field, column) in schema.fields().iter().skip(1).zip(PacketColumn::ALL) {
            assert_eq!(field.name(), column.name());
            assert_eq!(field.data_type(), &arrow_type(column.spec().ty));
        }
        let frame = batch
            .column_by_name("frame")
            .unwrap()
            .as_primitive::<UInt64Type>();
        assert_eq!(frame.value(0), 1);
        let time = batch
            .column_by_name("time")
            .unwrap()
            .as_primitive::<TimestampNanosecondType>();
        assert_eq!(time.value(0), 1_700_000_000_000_000_005);
        assert_eq!(
            time.value(4),
            -1_000_000_001,
            "negative times keep their sign"
        );
        let sport = batch.column_by_name("sport").unwrap();
        assert!(sport.is_null(3), "a frame that is not TCP has no port");
        let analysis = batch.column_by_name("analysis").unwrap();
        assert!(
            (0..records.len()).all(|i| analysis.is_null(i)
                == records[i]
                    .tcp
                    .as_ref()
                    .is_none_or(|t| t.analysis.flags.is_empty())),
            "an empty cell is a null, as in JSON"
        );
        let time_rel = batch
            .column_by_name("time_rel")
            .unwrap()
            .as_primitive::<Float64Type>();
        assert_eq!(time_rel.value(0), 0.0, "the first frame is the origin");
        let src = batch.column_by_name("src").unwrap().as_string::<i32>();
        assert_eq!(src.value(4), "2001:db8::1");
        let info = batch.column_by_name("info").unwrap().as_string::<i32>();
        assert_eq!(info.value(4), "say \"hi\", twice\r\n");
        let capture = batch.column(0).as_string::<i32>();
        assert!((0..records.len()).all(|i| capture.value(i) == "labs/a.pcap"));
    }

    #[test]
    fn many_rows_stream_in_row_groups_with_dictionaries_and_zstd() {
        let records = crate::tests::packet_records();
        let rows = ROW_GROUP_ROWS + BATCH_ROWS + 3;
        let mut out = Vec::new();
        let mut table =
            ParquetTable::<PacketColumn, _>::new(&mut out, Selection::All, None).unwrap();
        for i in 0..rows {
            table.row(&records[i % records.len()]).unwrap();
        }
        table.finish().unwrap();
        drop(table);
        let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(out)).unwrap();
        let meta = builder.metadata().clone();
        assert_eq!(meta.file_metadata().num_rows() as usize, rows);
        assert_eq!(meta.num_row_groups(), 2);
        let protocol = PacketColumn::ALL
            .iter()
            .position(|c| c.name() == "protocol")
            .unwrap();
        let chunk = meta.row_group(0).column(protocol);
        assert_eq!(chunk.compression(), Compression::ZSTD(ZstdLevel::default()));
        assert!(chunk
            .encodings()
            .any(|e| e == Encoding::RLE_DICTIONARY || e == Encoding::PLAIN_DICTIONARY));
    }

    #[test]
    fn an_empty_table_is_a_valid_file_with_its_schema() {
        let bytes = {
            let mut out = Vec::new();
            let mut table = ExchangeParquet::new(&mut out, None).unwrap();
            table.finish().unwrap();
            drop(table);
            out
        };
        let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes)).unwrap();
        assert_eq!(builder.schema().fields().len(), ExchangeColumn::ALL.len());
        assert_eq!(builder.metadata().file_metadata().num_rows(), 0);
    }
}
