//! `wirenote flows`: one row per TCP connection, in stream order.

use wirenote_export::{ConnParquet, ConnTable, Sheets};

use super::one_table::{self, OneTable};
use crate::args::OutputArgs;
use crate::exit::Exit;
use crate::tables::TableName;

const FLOWS: OneTable = OneTable {
    name: TableName::Flows,
    sheets: Sheets {
        packets: false,
        connections: true,
        exchanges: false,
    },
    text: |format, options, out| Box::new(ConnTable::with_options(format, options, out)),
    parquet: |out| Ok(Box::new(ConnParquet::new(out, None)?)),
};

pub(crate) fn run(args: &OutputArgs) -> anyhow::Result<Exit> {
    one_table::run(args, &FLOWS)
}
