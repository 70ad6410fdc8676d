//! The drive loop every command shares, and the [`Sink`] every output implements.
//!
//! For each frame a [`Driver`] dissects the row, hands it to the sink, then hands over
//! what the frame settled: connections that ended (as [`ConnRecord`]s, in stream order
//! within a frame) and HTTP exchanges whose outcome is known. At the end of the capture
//! it hands over the rest and finishes the sink. A sink says what it [`Wants`], so that a
//! pass does only that work (an `annotate` CSV wants no connection records, a `flows`
//! table no rows of text).

use std::fmt;
use std::io;

use crate::capture::Frame;
use crate::conn::tracker::Shed;
use crate::pipeline::dissect::{Dissector, Exchanges, Limits};
use crate::pipeline::pass::Pass;
use crate::record::{ConnRecord, ExchangeRecord, PacketRecord};

/// What a sink needs besides the rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wants {
    /// Connection records as connections end.
    pub connections: bool,
    /// HTTP exchanges with their text (method, host, URI…).
    pub exchanges: bool,
    /// The sink reads nothing of the rows but their frames (a connection or exchange
    /// table): they are left without Info text and HTTP records, and a single pass that
    /// wants no exchanges either keeps no HTTP state at all.
    pub ignores_rows: bool,
}

impl Wants {
    /// What either of two sinks wants.
    pub fn union(self, other: Wants) -> Wants {
        Wants {
            connections: self.connections || other.connections,
            exchanges: self.exchanges || other.exchanges,
            ignores_rows: self.ignores_rows && other.ignores_rows,
        }
    }
}

/// Where rows go: a table, Lua metadata, an annotated capture, a workbook… Every method
/// but [`Sink::packet`] has a default that ignores what it is given.
pub trait Sink {
    /// What this sink needs besides the rows.
    fn wants(&self) -> Wants {
        Wants::default()
    }

    /// The row of `frame` (frames come in order).
    fn packet(&mut self, frame: &Frame<'_>, row: &PacketRecord) -> io::Result<()>;

    /// Like [`Sink::packet`], but the sink may keep the row itself and leave a spare one
    /// (a row it is done with) in its place: the driver dissects the next frame into
    /// whatever it gets back, overwriting every field. A sink that ships rows to another
    /// thread saves copying them this way.
    fn take_row(&mut self, frame: &Frame<'_>, row: &mut PacketRecord) -> io::Result<()> {
        self.packet(frame, row)
    }

    /// Whether the sink writes TCP's pending Info summary into the rows itself
    /// ([`PacketRecord::render_info`]), say on the thread that formats them; otherwise the
    /// driver does before handing a row over.
    fn renders_info(&self) -> bool {
        false
    }

    /// Connections that ended since the last call, in stream order (only when
    /// [`Wants::connections`]).
    fn connections(&mut self, _conns: &[ConnRecord]) -> io::Result<()> {
        Ok(())
    }

    /// HTTP exchanges whose outcome became known (only when [`Wants::exchanges`]).
    fn exchanges(&mut self, _exchanges: &[ExchangeRecord]) -> io::Result<()> {
        Ok(())
    }

    /// Hands what was written so far to the output (a live capture's rows must not wait
    /// in a buffer for the next packet).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// The capture is complete: write what waits (a header for an empty table, a
    /// trailer) and flush.
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A sink behind a reference or a box is that sink: every method forwards.
macro_rules! forward_sink {
    ($($wrapper:ty),*) => {$(
        impl<S: Sink + ?Sized> Sink for $wrapper {
            fn wants(&self) -> Wants {
                (**self).wants()
            }
            fn packet(&mut self, frame: &Frame<'_>, row: &PacketRecord) -> io::Result<()> {
                (**self).packet(frame, row)
            }
            fn take_row(&mut self, frame: &Frame<'_>, row: &mut PacketRecord) -> io::Result<()> {
                (**self).take_row(frame, row)
            }
            fn renders_info(&self) -> bool {
                (**self).renders_info()
            }
            fn connections(&mut self, conns: &[ConnRecord]) -> io::Result<()> {
                (**self).connections(conns)
            }
            fn exchanges(&mut self, exchanges: &[ExchangeRecord]) -> io::Result<()> {
                (**self).exchanges(exchanges)
            }
            fn flush(&mut self) -> io::Result<()> {
                (**self).flush()
            }
            fn finish(&mut self) -> io::Result<()> {
                (**self).finish()
            }
        }
    )*};
}

forward_sink!(&mut S, Box<S>);

/// Several sinks fed the same rows, in order (say, an annotated pcapng and a table);
/// only the last may take the row ([`Sink::take_row`]).
impl<S: Sink> Sink for Vec<S> {
    fn wants(&self) -> Wants {
        self.iter()
            .fold(Wants::default(), |w, s| w.union(s.wants()))
    }
    fn packet(&mut self, frame: &Frame<'_>, row: &PacketRecord) -> io::Result<()> {
        self.iter_mut().try_for_each(|s| s.packet(frame, row))
    }
    fn take_row(&mut self, frame: &Frame<'_>, row: &mut PacketRecord) -> io::Result<()> {
        let Some((last, others)) = self.split_last_mut() else {
            return Ok(());
        };
        others.iter_mut().try_for_each(|s| s.packet(frame, row))?;
        last.take_row(frame, row)
    }
    fn renders_info(&self) -> bool {
        // The sinks before the last read the row before it is shipped.
        !self.is_empty() && self.iter().all(|s| s.renders_info())
    }
    fn connections(&mut self, conns: &[ConnRecord]) -> io::Result<()> {
        self.iter_mut()
            .filter(|s| s.wants().connections)
            .try_for_each(|s| s.connections(conns))
    }
    fn exchanges(&mut self, exchanges: &[ExchangeRecord]) -> io::Result<()> {
        self.iter_mut()
            .filter(|s| s.wants().exchanges)
            .try_for_each(|s| s.exchanges(exchanges))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.iter_mut().try_for_each(|s| s.flush())
    }
    fn finish(&mut self) -> io::Result<()> {
        self.iter_mut().try_for_each(|s| s.finish())
    }
}

/// A sink that keeps nothing: a first pass's rows, which nobody reads.
#[derive(Debug, Default, Clone, Copy)]
pub struct Discard;

impl Sink for Discard {
    fn packet(&mut self, _frame: &Frame<'_>, _row: &PacketRecord) -> io::Result<()> {
        Ok(())
    }
}

/// Whether the walk over frames goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Read the next frame.
    Continue,
    /// Stop here, as if the capture ended: a second pass reached the end its first pass
    /// reached, or a first pass nobody follows any more.
    Stop,
}

/// Why a drive failed.
#[derive(Debug)]
pub enum DriveError {
    /// The sink could not write.
    Sink(io::Error),
    /// A second pass met a connection its first pass never settled: the first pass
    /// failed (its error is the one to report), and no row with running values goes out.
    FirstPassLost,
}

impl fmt::Display for DriveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriveError::Sink(err) => err.fmt(f),
            DriveError::FirstPassLost => f.write_str("the first pass stopped early"),
        }
    }
}

impl std::error::Error for DriveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DriveError::Sink(err) => Some(err),
            DriveError::FirstPassLost => None,
        }
    }
}

impl From<io::Error> for DriveError {
    fn from(err: io::Error) -> Self {
        DriveError::Sink(err)
    }
}

/// Consecutive malformed frames after which a drive gives up: past this, the input is
/// not a capture of packets (a file of zeros after a pcap header yields a 16-byte
/// "frame" per 16 bytes, and gigabytes of rows saying so).
pub const MALFORMED_RUN_LIMIT: u64 = 100_000;

/// Connections handed to the sink at once at the end of a capture.
const FINISH_BATCH: usize = 4096;

/// Drives frames through one pass's dissector into a sink.
#[derive(Debug)]
pub struct Driver {
    dissector: Dissector,
    wants: Wants,
    /// The sink writes the rows' pending Info summaries itself (see [`Sink::renders_info`]).
    sink_renders_info: bool,
    /// The row every frame is dissected into (its Info buffer is reused).
    row: PacketRecord,
    /// Malformed frames in a row so far, and where the run began (frame, byte offset).
    malformed_run: (u64, u64, u64),
    gave_up: Option<String>,
}

impl Driver {
    /// A driver for `pass` feeding `sink`; the dissector does what the sink wants.
    pub fn new(pass: Pass, sink: &dyn Sink) -> Driver {
        Driver::with_limits(pass, sink, Limits::default())
    }

    /// [`Driver::new`] with `limits` on what the dissector remembers.
    pub fn with_limits(pass: Pass, sink: &dyn Sink, limits: Limits) -> Driver {
        let wants = sink.wants();
        let exchanges = if wants.exchanges {
            Exchanges::Full
        } else {
            Exchanges::Framed
        };
        let mut dissector = Dissector::for_pass_with(pass, exchanges, limits);
        if wants.ignores_rows {
            dissector.leave_rows_bare(wants.exchanges);
        }
        if !wants.connections {
            dissector.leave_out_zeek();
        }
        Driver {
            dissector,
            wants,
            sink_renders_info: sink.renders_info(),
            row: PacketRecord::default(),
            malformed_run: (0, 0, 0),
            gave_up: None,
        }
    }

    /// What the memory budget has cost so far (see [`Limits::max_bytes`]).
    pub fn shed(&self) -> Shed {
        self.dissector.shed()
    }

    /// Why the drive stopped before the end of the input, if it gave up on it (see
    /// [`MALFORMED_RUN_LIMIT`]): the rows so far were all written.
    pub fn gave_up(&self) -> Option<&str> {
        self.gave_up.as_deref()
    }

    /// Counts malformed frames in a row; true once there are too many.
    #[inline]
    fn too_many_malformed(&mut self, frame: &Frame<'_>) -> bool {
        if self.row.malformed.is_none() {
            self.malformed_run.0 = 0;
            return false;
        }
        if self.malformed_run.0 == 0 {
            self.malformed_run = (0, frame.number, frame.offset);
        }
        self.malformed_run.0 += 1;
        if self.malformed_run.0 < MALFORMED_RUN_LIMIT {
            return false;
        }
        let (count, first, offset) = self.malformed_run;
        self.gave_up = Some(format!(
            "{count} malformed frames in a row from frame {first} (record at byte offset \
             {offset}): stopped after frame {}, this is no capture of packets from there on",
            frame.number
        ));
        true
    }

    /// One frame: its row, then what it settled, to the sink.
    #[inline]
    pub fn frame(&mut self, frame: &Frame<'_>, sink: &mut dyn Sink) -> Result<Step, DriveError> {
        if self.dissector.should_stop_before(frame.number) {
            return Ok(Step::Stop);
        }
        self.dissector.dissect_into(frame, &mut self.row);
        if !self.sink_renders_info {
            self.row.render_info();
        }
        if self.dissector.lost_the_first_pass() {
            return Err(DriveError::FirstPassLost);
        }
        // Before the sink may take the row (see `Sink::take_row`).
        let give_up = self.too_many_malformed(frame);
        sink.take_row(frame, &mut self.row)?;
        if self.wants.connections {
            let ended = self.dissector.take_finished();
            if !ended.is_empty() {
                let records: Vec<ConnRecord> = ended.iter().map(ConnRecord::from_conn).collect();
                sink.connections(&records)?;
            }
        } else {
            self.dissector.drop_finished();
        }
        self.hand_over_exchanges(sink)?;
        if give_up {
            return Ok(Step::Stop);
        }
        Ok(Step::Continue)
    }

    #[inline]
    fn hand_over_exchanges(&mut self, sink: &mut dyn Sink) -> io::Result<()> {
        let exchanges = self.dissector.take_exchanges();
        if self.wants.exchanges && !exchanges.is_empty() {
            sink.exchanges(&exchanges)?;
        }
        Ok(())
    }

    /// The end of the capture: the remaining connections and exchanges to the sink, which
    /// then finishes. A first pass publishes its last facts and closes its board.
    pub fn finish(&mut self, sink: &mut dyn Sink) -> io::Result<()> {
        if self.wants == Wants::default() {
            self.dissector.finish_unwanted();
            return sink.finish();
        }
        // In batches: a list of every connection left would be most of the memory at
        // the end of a flood.
        let wants = self.wants.connections;
        let mut batch: Vec<ConnRecord> = Vec::new();
        let mut written = Ok(());
        self.dissector.finish_with(|conn| {
            if wants && written.is_ok() {
                batch.push(ConnRecord::from_conn(&conn));
                if batch.len() == FINISH_BATCH {
                    written = sink.connections(&batch);
                    batch.clear();
                }
            }
        });
        written?;
        if !batch.is_empty() {
            sink.connections(&batch)?;
        }
        self.hand_over_exchanges(sink)?;
        sink.finish()
    }
}
