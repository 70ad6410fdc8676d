//! The column schema: every column of every table defined once — its name, type, a
//! one-line description, the tshark or Zeek field it mirrors, and how to take its value
//! from a record — so that every writer (CSV, JSON Lines, Lua metadata, pcapng comments)
//! and the README's column tables take their columns from the same place.
//!
//! A table is an enum of its columns ([`PacketColumn`], [`ConnColumn`],
//! [`ExchangeColumn`]) implementing [`Table`]: [`Table::ALL`] is the default order,
//! [`Table::spec`] the column's documentation and [`Table::cell`] its typed value for one
//! record. A writer takes a [`Selection`] (every column in the default order, or a choice
//! in any order, found by [`Table::from_name`], as tshark's `-e`) and encodes each
//! [`Cell`] its own way, either looping over the columns or handing a [`CellSink`] to
//! [`Selection::each_cell`], which writes the default order out column by column so that
//! the compiler specialises every cell (the per-packet CSV path). A cell borrows from the
//! record or from one reusable scratch string, so that path allocates nothing.
//!
//! ```
//! use wirenote_export::schema::{Cell, PacketColumn, Table};
//! use wirenote_core::record::PacketRecord;
//!
//! let record = PacketRecord { frame: 7, protocol: "ARP", ..PacketRecord::default() };
//! let mut scratch = String::new();
//! let column = PacketColumn::from_name("frame").unwrap();
//! assert_eq!(column.cell(&record, &mut scratch), Cell::UInt(7));
//! assert_eq!(PacketColumn::Sport.cell(&record, &mut scratch), Cell::Null);
//! ```

mod cell;
mod conn;
mod exchange;
mod packet;

pub(crate) use cell::dotted_quad;
pub use cell::{markdown, write_elapsed, Cell, CellSink, Mirror, Selection, Spec, Table, Type};
pub use conn::ConnColumn;
pub use exchange::ExchangeColumn;
pub use packet::PacketColumn;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn check_table<T: Table>(records: &[T::Record]) {
        for (i, column) in T::ALL.iter().enumerate() {
            assert_eq!(T::from_name(column.name()), Some(*column));
            assert!(
                T::ALL[..i].iter().all(|c| c.name() != column.name()),
                "{column:?}: name used twice"
            );
            for record in records {
                let mut scratch = String::new();
                let cell = column.cell(record, &mut scratch);
                assert!(
                    column.spec().ty.admits(&cell),
                    "{column:?} is {:?} but gave {cell:?}",
                    column.spec().ty
                );
            }
        }
    }

    #[test]
    fn every_cell_has_its_columns_type() {
        check_table::<PacketColumn>(&crate::tests::packet_records());
        check_table::<ConnColumn>(&[crate::tests::conn_record()]);
        check_table::<ExchangeColumn>(&crate::tests::exchange_records());
    }

    /// Collects cells as text.
    struct Texts(Vec<String>);

    impl CellSink for Texts {
        fn cell(&mut self, cell: Cell<'_>) {
            self.0.push(cell.to_string());
        }
    }

    fn texts<T: Table>(selection: &Selection<T>, record: &T::Record) -> Vec<String> {
        let mut sink = Texts(Vec::new());
        selection.each_cell(record, &mut String::new(), &mut sink);
        sink.0
    }

    #[test]
    fn a_selection_gives_its_columns_in_its_order() {
        for record in crate::tests::packet_records() {
            let all = texts(&Selection::<PacketColumn>::All, &record);
            let mut scratch = String::new();
            let looped: Vec<String> = PacketColumn::ALL
                .iter()
                .map(|c| c.cell(&record, &mut scratch).to_string())
                .collect();
            assert_eq!(all, looped, "each_cell is the loop over ALL, unrolled");
            let chosen = Selection::Only(vec![PacketColumn::Dir, PacketColumn::Frame]);
            assert_eq!(texts(&chosen, &record), [all[20].clone(), all[0].clone()]);
        }
        assert_eq!(PacketColumn::from_name("dir"), Some(PacketColumn::Dir));
        assert_eq!(PacketColumn::from_name("nope"), None);
    }

    #[test]
    fn mirrors_spell_as_markdown() {
        assert_eq!(
            Mirror::Tshark(&["ip.src", "ipv6.src"]).to_string(),
            "`ip.src`/`ipv6.src`"
        );
        assert_eq!(
            Mirror::Zeek("conn.log", &["history"]).to_string(),
            "conn.log `history`"
        );
        assert_eq!(Mirror::None.to_string(), "—");
    }
}
