//! `wirenote http`: one row per HTTP exchange.

use wirenote_export::{ExchangeParquet, ExchangeTable, Sheets};

use super::one_table::{self, OneTable};
use crate::args::OutputArgs;
use crate::exit::Exit;
use crate::tables::TableName;

const HTTP: OneTable = OneTable {
    name: TableName::Http,
    sheets: Sheets {
        packets: false,
        connections: false,
        exchanges: true,
    },
    text: |format, options, out| Box::new(ExchangeTable::with_options(format, options, out)),
    parquet: |out| Ok(Box::new(ExchangeParquet::new(out, None)?)),
};

pub(crate) fn run(args: &OutputArgs) -> anyhow::Result<Exit> {
    one_table::run(args, &HTTP)
}
