//! The JSON Lines writer, for every table: one object per row, keys in column order, the
//! values typed as the schema's cells are ([`Cell`]'s `Serialize`: integers and booleans
//! bare, empty cells `null`, everything else a string).

use std::io::{self, Write};

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::schema::{Selection, Table};

/// Writes rows as JSON Lines.
pub(crate) struct JsonLines<W: Write> {
    out: io::BufWriter<W>,
}

/// One row as a JSON object.
struct Row<'c, 'r, T: Table> {
    columns: &'c [T],
    record: &'r T::Record,
}

impl<T: Table> Serialize for Row<'_, '_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.columns.len()))?;
        let mut scratch = String::new();
        for column in self.columns {
            map.serialize_entry(column.name(), &column.cell(self.record, &mut scratch))?;
        }
        map.end()
    }
}

impl<W: Write> JsonLines<W> {
    pub(crate) fn new(out: W) -> Self {
        JsonLines {
            out: io::BufWriter::with_capacity(64 * 1024, out),
        }
    }

    /// Writes one row of `record`'s cells for `columns`.
    pub(crate) fn row<T: Table>(
        &mut self,
        columns: &Selection<T>,
        record: &T::Record,
    ) -> io::Result<()> {
        let columns = columns.columns();
        serde_json::to_writer(&mut self.out, &Row { columns, record })?;
        self.out.write_all(b"\n")
    }

    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
