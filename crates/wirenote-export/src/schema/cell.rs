//! What every table is made of: column types and specs, typed cells, the [`Table`]
//! trait, selections, and the `table!` macro the tables are declared with. A leaf: the
//! tables use it, it uses none of them.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use wirenote_core::capture::Timestamp;

/// What a column holds: what a typed writer (a spreadsheet, Parquet) declares it as. Every
/// cell of a column is [`Cell::Null`] or the one cell variant of its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// A non-negative whole number ([`Cell::UInt`]).
    Integer,
    /// A duration in seconds ([`Cell::Seconds`]), or a time as seconds since the first
    /// frame of the capture ([`Cell::Since`]).
    Seconds,
    /// A point in time, epoch seconds ([`Cell::Time`]).
    Time,
    /// An IP address or `address:port` ([`Cell::Ip`], [`Cell::Endpoint`]).
    Address,
    /// `true` or `false` ([`Cell::Bool`]).
    Boolean,
    /// Text ([`Cell::Text`], [`Cell::Word`]).
    Text,
}

impl Type {
    /// The name the README's tables use.
    pub fn as_str(self) -> &'static str {
        match self {
            Type::Integer => "integer",
            Type::Seconds => "seconds",
            Type::Time => "time",
            Type::Address => "address",
            Type::Boolean => "boolean",
            Type::Text => "text",
        }
    }

    /// Whether `cell` may appear in a column of this type.
    pub fn admits(self, cell: &Cell<'_>) -> bool {
        matches!(
            (self, cell),
            (_, Cell::Null)
                | (Type::Integer, Cell::UInt(_))
                | (Type::Seconds, Cell::Seconds(_) | Cell::Since(_))
                | (Type::Time, Cell::Time(_))
                | (Type::Address, Cell::Ip(_) | Cell::Endpoint(_))
                | (Type::Boolean, Cell::Bool(_))
                | (Type::Text, Cell::Text(_) | Cell::Word(_))
        )
    }
}

/// The field of another tool that a column mirrors, so that a reader can compare them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mirror {
    /// wirenote's own: no tool prints it.
    None,
    /// tshark fields (`-e`); several where the column covers IPv4 and IPv6 or requests
    /// and responses.
    Tshark(&'static [&'static str]),
    /// Fields of a Zeek log (`conn.log`, `http.log`).
    Zeek(&'static str, &'static [&'static str]),
}

impl fmt::Display for Mirror {
    /// Markdown, as the README's tables show it: `` `ip.src`/`ipv6.src` ``,
    /// ``conn.log `history` ``, `—`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields = match self {
            Mirror::None => return f.write_str("—"),
            Mirror::Tshark(fields) => fields,
            Mirror::Zeek(log, fields) => {
                write!(f, "{log} ")?;
                fields
            }
        };
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            write!(f, "`{field}`")?;
        }
        Ok(())
    }
}

/// A column's documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// The header and JSON key.
    pub name: &'static str,
    /// What its cells hold.
    pub ty: Type,
    /// One line for the README (Markdown).
    pub about: &'static str,
    /// The tshark or Zeek field it mirrors.
    pub mirror: Mirror,
}

/// One value of one column, typed, borrowed from the record (or from the scratch string
/// [`Table::cell`] is given). Writers decide the spelling: CSV writes [`Cell::Null`] as an
/// empty cell and JSON as `null` (an empty text too); JSON writes integers, seconds and
/// booleans bare and every other cell as a string (so an epoch time keeps its 9 decimals
/// exactly).
///
/// [`Cell::Since`] is the one cell a writer completes: it holds a capture time, and the
/// writer shows it as seconds since its origin, the first frame's time (a writer-side
/// state: the table's sink sees every frame, so it knows the first; see
/// [`Cell::since_nanos`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// No value (empty in CSV, `null` in JSON).
    Null,
    /// A whole number.
    UInt(u64),
    /// A boolean, spelled `true`/`false`.
    Bool(bool),
    /// A duration, spelled with 9 decimals (`0.000643000`).
    Seconds(f64),
    /// A capture time, spelled as tshark's `frame.time_epoch` (`1700000000.000000005`).
    Time(Timestamp),
    /// A capture time to be shown as seconds since the capture's first frame (`time_rel`,
    /// as Wireshark's default Time column, `frame.time_relative`), with 9 decimals
    /// exactly. Its `Display`, which knows no origin, spells the time itself.
    Since(Timestamp),
    /// An IP address.
    Ip(IpAddr),
    /// An address and port (`127.0.0.1:5000`, `[::1]:80`).
    Endpoint(SocketAddr),
    /// Text.
    Text(&'a str),
    /// Text wirenote spells itself, from a fixed vocabulary (a direction, a role, a TCP
    /// state, a protocol's name): the same as [`Cell::Text`] in every format, but known
    /// never to look like a formula nor to need CSV quotes, so the CSV writer copies it
    /// without looking (five cells of a packet row; the look was a twentieth of the
    /// writer's work).
    Word(&'static str),
}

impl fmt::Display for Cell<'_> {
    /// The cell's text, as CSV holds it before quoting (empty for [`Cell::Null`]). The
    /// CSV writer formats faster by hand; its tests hold it to this.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Null => Ok(()),
            Cell::UInt(v) => write!(f, "{v}"),
            Cell::Bool(v) => write!(f, "{v}"),
            Cell::Seconds(v) => write!(f, "{v:.9}"),
            Cell::Time(v) | Cell::Since(v) => write!(f, "{v}"),
            Cell::Ip(v) => write!(f, "{v}"),
            Cell::Endpoint(v) => write!(f, "{v}"),
            Cell::Text(v) => f.write_str(v),
            Cell::Word(v) => f.write_str(v),
        }
    }
}

/// Spells an IPv4 address as its `Display` does (`192.0.2.1`), without the formatting
/// machinery: two address cells on every packet row, in CSV and Parquet alike.
#[inline]
pub(crate) fn dotted_quad(v4: Ipv4Addr) -> DottedQuad {
    let mut quad = DottedQuad {
        spelled: [0; 15],
        len: 0,
    };
    for (i, &octet) in v4.octets().iter().enumerate() {
        if i > 0 {
            quad.push(b'.');
        }
        if octet >= 100 {
            quad.push(b'0' + octet / 100);
        }
        if octet >= 10 {
            quad.push(b'0' + octet / 10 % 10);
        }
        quad.push(b'0' + octet % 10);
    }
    quad
}

/// An address spelled whole in a small buffer, to be copied once: an octet and a dot at
/// a time (seven copies an address) had been the CSV writer's most frequent copy.
pub(crate) struct DottedQuad {
    spelled: [u8; 15],
    len: usize,
}

impl DottedQuad {
    #[inline]
    fn push(&mut self, byte: u8) {
        self.spelled[self.len] = byte;
        self.len += 1;
    }

    /// The spelling's bytes (for CSV: checking them as UTF-8 would cost more than the
    /// spelling).
    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.spelled[..self.len]
    }

    /// The spelling as text.
    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).expect("digits and dots are ASCII")
    }
}

impl Cell<'_> {
    /// For [`Cell::Since`], nanoseconds since `origin` (the first frame's time; `None`:
    /// this is the first frame, or the capture has no times, so the cell is the origin).
    #[inline]
    pub fn since_nanos(time: Timestamp, origin: Option<Timestamp>) -> i128 {
        time.as_nanos() - origin.unwrap_or(time).as_nanos()
    }
}

/// Writes `nanos` as seconds with 9 decimals exactly (`-0.000000005`, `12.000643000`).
pub fn write_elapsed(out: &mut impl fmt::Write, nanos: i128) -> fmt::Result {
    let sign = if nanos < 0 { "-" } else { "" };
    let abs = nanos.unsigned_abs();
    write!(
        out,
        "{sign}{}.{:09}",
        abs / 1_000_000_000,
        abs % 1_000_000_000
    )
}

impl serde::Serialize for Cell<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Cell::Null | Cell::Text("") | Cell::Word("") => serializer.serialize_none(),
            Cell::UInt(v) => serializer.serialize_u64(*v),
            Cell::Bool(v) => serializer.serialize_bool(*v),
            Cell::Seconds(v) => serializer.serialize_f64(*v),
            Cell::Text(v) => serializer.serialize_str(v),
            Cell::Word(v) => serializer.serialize_str(v),
            other => serializer.collect_str(other),
        }
    }
}

macro_rules! from_uint {
    ($($t:ty),*) => {$(
        impl From<$t> for Cell<'_> {
            fn from(v: $t) -> Self {
                Cell::UInt(u64::from(v))
            }
        }
    )*};
}
from_uint!(u8, u16, u32, u64);

impl From<bool> for Cell<'_> {
    fn from(v: bool) -> Self {
        Cell::Bool(v)
    }
}

impl<'a> From<&'a str> for Cell<'a> {
    fn from(v: &'a str) -> Self {
        Cell::Text(v)
    }
}

impl From<Timestamp> for Cell<'_> {
    fn from(v: Timestamp) -> Self {
        Cell::Time(v)
    }
}

impl From<IpAddr> for Cell<'_> {
    fn from(v: IpAddr) -> Self {
        Cell::Ip(v)
    }
}

impl From<SocketAddr> for Cell<'_> {
    fn from(v: SocketAddr) -> Self {
        Cell::Endpoint(v)
    }
}

impl<'a, T: Into<Cell<'a>>> From<Option<T>> for Cell<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Cell::Null, Into::into)
    }
}

/// Where a writer takes a row's cells, one at a time in column order: the CSV writer, and
/// the place for a typed writer (a spreadsheet, Parquet) to plug in. Implementations on a
/// hot path should mark `cell` `#[inline(always)]`: with [`Table::each_cell`] that makes a
/// row straight-line code, each column's cell built and written without a dispatch.
pub trait CellSink {
    /// Takes the next cell.
    fn cell(&mut self, cell: Cell<'_>);
}

/// A table: an enum of its columns.
pub trait Table: Copy + Eq + fmt::Debug + 'static {
    /// The record one row is made of.
    type Record;

    /// Every column, in the default order (the documented output).
    const ALL: &'static [Self];

    /// The column's documentation.
    fn spec(self) -> &'static Spec;

    /// The column's value in `record`. Text that is not in the record as such (joined
    /// lists, flag names) is written into `scratch`, which the cell then borrows.
    fn cell<'a>(self, record: &'a Self::Record, scratch: &'a mut String) -> Cell<'a>;

    /// Hands every cell of `record`, in the default order, to `sink`: the same cells as a
    /// loop over [`Table::ALL`] calling [`Table::cell`], but written out column by column
    /// (by `table!`) so that the compiler resolves each column's `match` at compile time
    /// — the per-packet CSV path's speed.
    fn each_cell(record: &Self::Record, scratch: &mut String, sink: &mut impl CellSink) {
        for column in Self::ALL {
            sink.cell(column.cell(record, scratch));
        }
    }

    /// The header and JSON key.
    fn name(self) -> &'static str {
        self.spec().name
    }

    /// The column called `name` (for a choice of columns, as tshark's `-e`).
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.name() == name)
    }
}

/// The columns a writer writes: all, in the default order, or a choice in the order given
/// (as tshark's `-e`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Selection<T: Table> {
    /// [`Table::ALL`].
    #[default]
    All,
    /// These columns, in this order.
    Only(Vec<T>),
}

impl<T: Table> Selection<T> {
    /// The columns, in order.
    pub fn columns(&self) -> &[T] {
        match self {
            Selection::All => T::ALL,
            Selection::Only(columns) => columns,
        }
    }

    /// Hands every selected cell of `record`, in order, to `sink`.
    #[inline]
    pub fn each_cell(&self, record: &T::Record, scratch: &mut String, sink: &mut impl CellSink) {
        match self {
            Selection::All => T::each_cell(record, scratch, sink),
            Selection::Only(columns) => {
                for column in columns {
                    sink.cell(column.cell(record, scratch));
                }
            }
        }
    }
}

/// The Markdown table documenting `T`'s columns, as the README shows it (a test checks
/// the README against it; `WIRENOTE_BLESS=1` rewrites it).
pub fn markdown<T: Table>() -> String {
    let mut out = String::from(
        "| column | type | meaning | tshark field (or Zeek log and field) |\n|---|---|---|---|\n",
    );
    for column in T::ALL {
        let spec = column.spec();
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            spec.name,
            spec.ty.as_str(),
            spec.about,
            spec.mirror
        ));
    }
    out
}

/// The `tunnel` cell of the packet and connection tables (one spelling for both: the
/// encapsulations' names joined with `/`, outermost first, as `Tunnels` displays them);
/// empty when the packet came through none.
pub(super) fn tunnel<'a>(
    tunnels: &wirenote_core::wire::tunnel::Tunnels,
    scratch: &'a mut String,
) -> Cell<'a> {
    if tunnels.is_empty() {
        return Cell::Null;
    }
    scratch.clear();
    let _ = std::fmt::Write::write_fmt(scratch, format_args!("{tunnels}"));
    Cell::Text(scratch)
}

/// Defines a table's column enum, its [`Table`] impl and each column's documentation from
/// one entry per column:
///
/// `Variant = "name", Type, mirror, "description", |record, scratch| cell;`
macro_rules! table {
    (
        $(#[$meta:meta])*
        pub enum $table:ident for $record:ty {
            $(
                $variant:ident = $name:literal, $ty:ident, $mirror:expr, $about:literal,
                |$r:ident, $scratch:ident| $cell:expr;
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $table {
            $(
                #[doc = concat!("`", $name, "`: ", $about)]
                $variant,
            )*
        }

        impl $table {
            const SPECS: &'static [$crate::schema::cell::Spec] = &[$(
                $crate::schema::cell::Spec {
                    name: $name,
                    ty: $crate::schema::cell::Type::$ty,
                    about: $about,
                    mirror: $mirror,
                },
            )*];
        }

        impl $crate::schema::cell::Table for $table {
            type Record = $record;

            const ALL: &'static [Self] = &[$($table::$variant),*];

            fn spec(self) -> &'static $crate::schema::cell::Spec {
                &Self::SPECS[self as usize]
            }

            // Always inlined: in `each_cell` the column is a constant, so its arm alone
            // remains, written straight into the sink.
            #[inline(always)]
            #[allow(unused_variables)]
            fn cell<'a>(
                self,
                record: &'a $record,
                scratch: &'a mut String,
            ) -> $crate::schema::cell::Cell<'a> {
                match self {
                    $($table::$variant => {
                        let $r = record;
                        let $scratch = scratch;
                        $crate::schema::cell::Cell::from($cell)
                    })*
                }
            }

            #[inline]
            fn each_cell(
                record: &$record,
                scratch: &mut String,
                sink: &mut impl $crate::schema::cell::CellSink,
            ) {
                $(sink.cell($table::$variant.cell(record, scratch));)*
            }
        }
    };
}
pub(crate) use table;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The hand-spelled dotted quad is the address's `Display`.
        #[test]
        fn a_dotted_quad_is_the_display(bits in any::<u32>()) {
            let v4 = Ipv4Addr::from(bits);
            let (quad, display) = (dotted_quad(v4), v4.to_string());
            prop_assert_eq!(quad.as_str(), display.as_str());
            prop_assert_eq!(quad.as_bytes(), display.as_bytes());
        }
    }
}
