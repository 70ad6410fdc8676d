//! Rows written on a second thread while the first one dissects.
//!
//! Formatting and writing a row costs about as much as dissecting its frame, so on a
//! machine with a spare core `annotate` hands rows over in batches. Batches travel both
//! ways: full ones to the writer, emptied ones back, so that each row's buffers are
//! reused (the driver's row is swapped with a recycled one: nothing is copied) and no thread frees what
//! the other allocated (an earlier writer thread that sent fresh rows gained nothing: the
//! allocator's cross-thread frees ate the win). At most [`QUEUED`] full batches wait,
//! which bounds the memory this adds.
//!
//! The dissecting side is a [`Sink`] ([`RowPipe`]); the sink on the writer thread gets
//! each row with its frame's facts (number, time, lengths) but not its bytes, so a sink
//! that reads `frame.data` (the annotated pcapng copy) stays on the dissecting thread.
//!
//! A live capture ([`Delivery::Live`], say `tcpdump -U -w - | wirenote annotate
//! --single-pass -`) cannot wait for a batch to fill: each frame's row is shipped at once,
//! and the writer flushes whenever it has caught up, so a row reaches the reader as soon
//! as its packet has arrived while a fast stream still goes out in large writes.

use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};

use anyhow::Context;
use wirenote_core::record::{ConnRecord, ExchangeRecord, PacketRecord};
use wirenote_core::{Frame, Sink, Wants};
use wirenote_export::{PacketParquetRows, ParquetEncoder};

/// Rows per batch.
const BATCH_ROWS: usize = 256;
/// Full batches that may wait for the writer.
const QUEUED: usize = 4;

/// When rows leave the dissecting thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// In full batches, written in large blocks: a capture file.
    Batched,
    /// Each frame's row at once, flushed when the writer has caught up: a live stream.
    Live,
}

#[derive(Default)]
struct Batch {
    rows: Vec<(Frame<'static>, PacketRecord)>,
    used: usize,
    /// Connections that ended after the rows of this batch (only when wanted).
    conns: Vec<ConnRecord>,
    /// HTTP exchanges settled after the rows of this batch (only when wanted).
    exchanges: Vec<ExchangeRecord>,
}

/// A frame's facts without its bytes, to travel with its row.
fn facts_of(frame: &Frame<'_>) -> Frame<'static> {
    Frame {
        data: &[],
        options: &[],
        ..*frame
    }
}

/// The dissecting side: a sink that fills recycled rows and ships them in batches.
pub(crate) struct RowPipe {
    filling: Batch,
    delivery: Delivery,
    wants: Wants,
    /// Full batches; `None` says the rows are complete (the sink may finish).
    full: Option<SyncSender<Option<Batch>>>,
    empty: Receiver<Batch>,
}

impl RowPipe {
    fn ship(&mut self) -> io::Result<()> {
        let next = self.empty.try_recv().unwrap_or_default();
        let full = std::mem::replace(&mut self.filling, next);
        self.full
            .as_ref()
            .and_then(|sender| sender.send(Some(full)).ok())
            .ok_or_else(|| io::Error::other("the row writer stopped"))
    }
}

impl Sink for RowPipe {
    fn wants(&self) -> Wants {
        self.wants
    }

    /// TCP's Info summaries are formatted on the writer's thread, which has time to spare
    /// while the dissecting thread is the one the run waits for.
    fn renders_info(&self) -> bool {
        true
    }

    fn packet(&mut self, frame: &Frame<'_>, row: &PacketRecord) -> io::Result<()> {
        self.take_row(frame, &mut row.clone())
    }

    /// Keeps the row in the batch, handing back the slot's old row (recycled: its
    /// buffers are reused for the next frame).
    #[inline]
    fn take_row(&mut self, frame: &Frame<'_>, row: &mut PacketRecord) -> io::Result<()> {
        if self.filling.used == BATCH_ROWS {
            self.ship()?;
        }
        let batch = &mut self.filling;
        if batch.used == batch.rows.len() {
            batch.rows.push((facts_of(frame), std::mem::take(row)));
        } else {
            let slot = &mut batch.rows[batch.used];
            slot.0 = facts_of(frame);
            std::mem::swap(&mut slot.1, row);
        }
        batch.used += 1;
        if self.delivery == Delivery::Live {
            self.ship()?;
        }
        Ok(())
    }

    fn connections(&mut self, conns: &[ConnRecord]) -> io::Result<()> {
        if self.wants.connections {
            self.filling.conns.extend_from_slice(conns);
        }
        Ok(())
    }

    fn exchanges(&mut self, exchanges: &[ExchangeRecord]) -> io::Result<()> {
        if self.wants.exchanges {
            self.filling.exchanges.extend_from_slice(exchanges);
        }
        Ok(())
    }
}

/// Runs `produce` on this thread, feeding the [`RowPipe`] it is given, and writes the
/// rows on another into the sink `make_sink` opens, then finishes that sink.
///
/// The sink is opened when the first batch arrives, so that a capture found unreadable
/// before any row writes nothing at all (not even a header or a preamble); `wants` says
/// what it will want. A write error (say, a full disk) stops `produce` at its next batch
/// and is the error returned.
pub(crate) fn with_writer_thread<'s, T>(
    make_sink: impl FnOnce() -> io::Result<Box<dyn Sink + Send + 's>> + Send,
    wants: Wants,
    delivery: Delivery,
    produce: impl FnOnce(&mut RowPipe) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let (full_tx, full_rx) = mpsc::sync_channel::<Option<Batch>>(QUEUED);
    let (empty_tx, empty_rx) = mpsc::channel::<Batch>();
    std::thread::scope(|scope| {
        let writer = std::thread::Builder::new()
            .name("wirenote-writer".into())
            .spawn_scoped(scope, move || {
                write_batches(make_sink, delivery, full_rx, empty_tx)
            })
            .context("cannot start the writer thread")?;
        let mut pipe = RowPipe {
            filling: Batch::default(),
            delivery,
            wants,
            full: Some(full_tx),
            empty: empty_rx,
        };
        let produced = produce(&mut pipe).and_then(|value| {
            if pipe.filling.used > 0
                || !pipe.filling.conns.is_empty()
                || !pipe.filling.exchanges.is_empty()
            {
                pipe.ship()?;
            }
            if let Some(sender) = &pipe.full {
                // Complete: the writer may finish the sink (say, write an empty table's
                // header). After an error it does not, so a capture that cannot be read
                // writes nothing at all.
                let _ = sender.send(None);
            }
            Ok(value)
        });
        // Closing the channel tells the writer that no more rows come.
        pipe.full = None;
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the row writer panicked")));
        outcome(produced, written)
    })
}

/// Runs `produce` on this thread with the rows' half of a split Parquet table as its sink
/// (it gathers the rows into Arrow arrays here), and the encoder on another thread
/// (`wirenote_export::split_packet_parquet`): a writer thread that did both had three
/// times the second pass's work. The file is finished only if the rows completed; a
/// write error stops `produce` at its next batch and is the error returned.
pub(crate) fn with_encoder_thread<W: Write + Send, T>(
    mut rows: PacketParquetRows,
    encoder: ParquetEncoder<W>,
    produce: impl FnOnce(&mut dyn Sink) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    std::thread::scope(|scope| {
        let encoding = std::thread::Builder::new()
            .name("wirenote-writer".into())
            .spawn_scoped(scope, move || encoder.run())
            .context("cannot start the writer thread")?;
        let produced = produce(&mut rows);
        // The rows' half hangs up: the encoder ends.
        drop(rows);
        let written = encoding
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the Parquet writer panicked")));
        outcome(produced, written)
    })
}

/// The outcome of rows made on one thread and written on another: the writer's error
/// first (the maker's, when both failed, only follows from it: say, a full disk stopped
/// the writer and then the maker's next hand-over).
fn outcome<T>(produced: anyhow::Result<T>, written: io::Result<()>) -> anyhow::Result<T> {
    match (produced, written) {
        (_, Err(err)) => Err(err.into()),
        (Err(err), Ok(())) => Err(err),
        (Ok(value), Ok(())) => Ok(value),
    }
}

fn write_batches<'s>(
    make_sink: impl FnOnce() -> io::Result<Box<dyn Sink + Send + 's>>,
    delivery: Delivery,
    full: Receiver<Option<Batch>>,
    empty: mpsc::Sender<Batch>,
) -> io::Result<()> {
    // Nothing to write until the first message: the rows failed before any was made.
    let Ok(first) = full.recv() else {
        return Ok(());
    };
    let mut sink = make_sink()?;
    let mut message = first;
    loop {
        let Some(mut batch) = message else {
            return sink.finish();
        };
        for (frame, row) in &mut batch.rows[..batch.used] {
            row.render_info();
            sink.packet(frame, row)?;
        }
        if !batch.conns.is_empty() {
            sink.connections(&batch.conns)?;
            batch.conns.clear();
        }
        if !batch.exchanges.is_empty() {
            sink.exchanges(&batch.exchanges)?;
            batch.exchanges.clear();
        }
        batch.used = 0;
        // The dissecting side may have finished already; then the batch is just dropped.
        let _ = empty.send(batch);
        message = match full.try_recv() {
            Ok(next) => next,
            Err(TryRecvError::Disconnected) => return Ok(()),
            Err(TryRecvError::Empty) => {
                if delivery == Delivery::Live {
                    // Caught up with a live capture: what was written goes out now.
                    sink.flush()?;
                }
                match full.recv() {
                    Ok(next) => next,
                    Err(_) => return Ok(()),
                }
            }
        };
    }
}
