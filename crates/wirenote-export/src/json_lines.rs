//! The JSON Lines writer, for every table: one object per row, keys in column order, the
//! values typed as the schema's cells are ([`Cell`]'s `Serialize`): integers, seconds and
//! `time_rel` as JSON numbers, booleans bare, empty cells (an empty text too) `null`,
//! everything else a string — the epoch `time` too, whose nanoseconds a JSON number (a
//! double) cannot hold.

use std::io::{self, Write};

use serde::ser::{Serialize, SerializeMap, Serializer};

use wirenote_core::capture::Timestamp;

use crate::schema::{Cell, Selection, Table};

/// Writes rows as JSON Lines.
pub(crate) struct JsonLines<W: Write> {
    out: io::BufWriter<W>,
    /// The first frame's time, which `time_rel` cells count from.
    origin: Option<Timestamp>,
}

/// One row as a JSON object.
struct Row<'c, 'r, T: Table> {
    columns: &'c [T],
    record: &'r T::Record,
    origin: Option<Timestamp>,
}

impl<T: Table> Serialize for Row<'_, '_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.columns.len()))?;
        let mut scratch = String::new();
        for column in self.columns {
            let cell = match column.cell(self.record, &mut scratch) {
                // Exact as a double for the first 10^6 s (11 days) of a capture.
                Cell::Since(t) => Cell::Seconds(Cell::since_nanos(t, self.origin) as f64 / 1e9),
                other => other,
            };
            map.serialize_entry(column.name(), &cell)?;
        }
        map.end()
    }
}

impl<W: Write> JsonLines<W> {
    pub(crate) fn new(out: W) -> Self {
        JsonLines {
            out: io::BufWriter::with_capacity(crate::WRITE_BLOCK, out),
            origin: None,
        }
    }

    pub(crate) fn set_origin(&mut self, origin: Timestamp) {
        self.origin = Some(origin);
    }

    /// Writes one row of `record`'s cells for `columns`.
    pub(crate) fn row<T: Table>(
        &mut self,
        columns: &Selection<T>,
        record: &T::Record,
    ) -> io::Result<()> {
        let columns = columns.columns();
        let origin = self.origin;
        serde_json::to_writer(
            &mut self.out,
            &Row {
                columns,
                record,
                origin,
            },
        )?;
        self.out.write_all(b"\n")
    }

    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
