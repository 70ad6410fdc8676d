//! A second pass that follows a first pass running on another thread
//! ([`Pass::Second`] following a first pass on another thread) produces exactly the rows of a second pass run
//! after the first one has finished ([`Dissector::second_pass`]): on every readable
//! corpus capture, on our fixtures, and on generated captures long enough for
//! connections to be settled (evicted) while the first pass is still running.

mod corpus;

use std::sync::Arc;

use corpus::Corpus;
use wirenote_core::record::PacketRecord;
use wirenote_core::CaptureReader;
use wirenote_core::{CloseOnDrop, FactBoard};
use wirenote_core::{Dissector, Exchanges, Pass};

/// Every row `dissector` makes of `bytes`, taking ended connections as the CLI does.
fn rows_of(dissector: &mut Dissector, bytes: &[u8]) -> Vec<PacketRecord> {
    let mut reader = CaptureReader::from_slice(bytes).unwrap();
    let mut rows = Vec::new();
    while let Ok(Some(frame)) = reader.next_frame() {
        rows.push(dissector.dissect(&frame));
        dissector.take_finished();
    }
    rows
}

/// A second pass after its first pass has ended (as `batch` runs them).
fn after_first_pass(bytes: &[u8]) -> Vec<PacketRecord> {
    let board = Arc::new(FactBoard::new());
    let mut first = Dissector::for_pass(Pass::First(Arc::clone(&board)), Exchanges::Full);
    rows_of(&mut first, bytes);
    first.finish();
    rows_of(&mut second_pass(&board), bytes)
}

fn first_pass(board: &Arc<FactBoard>) -> Dissector {
    Dissector::for_pass(Pass::First(Arc::clone(board)), Exchanges::Full)
}

fn second_pass(board: &Arc<FactBoard>) -> Dissector {
    Dissector::for_pass(Pass::Second(Arc::clone(board)), Exchanges::Full)
}

fn following(bytes: &[u8]) -> Vec<PacketRecord> {
    let board = Arc::new(FactBoard::new());
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let _close = CloseOnDrop(&board);
            let mut first = first_pass(&board);
            rows_of(&mut first, bytes);
            first.finish();
        });
        rows_of(&mut second_pass(&board), bytes)
    })
}

fn assert_same(name: &str, bytes: &[u8]) -> usize {
    let (want, got) = (after_first_pass(bytes), following(bytes));
    assert_eq!(want.len(), got.len(), "{name}: row count");
    for (w, g) in want.iter().zip(&got) {
        assert_eq!(w, g, "{name}: frame {}", w.frame);
    }
    want.len()
}

#[test]
fn following_equals_waiting_on_the_corpus_and_fixtures() {
    let mut frames = 0;
    for (name, bytes) in Corpus::every_capture() {
        frames += assert_same(&name, &bytes);
    }
    assert!(frames > 40, "some frames were compared ({frames})");
}

/// Spreads a generated classic pcap's frames `factor` times further apart in time, so
/// that a small capture spans minutes and connections are evicted as it goes.
fn stretch(mut bytes: Vec<u8>, factor: u64) -> Vec<u8> {
    let mut at = 24;
    let mut start = None;
    while at + 16 <= bytes.len() {
        let word = |b: &[u8], i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap()) as u64;
        let us = word(&bytes, at) * 1_000_000 + word(&bytes, at + 4);
        let len = word(&bytes, at + 8) as usize;
        let start = *start.get_or_insert(us);
        let stretched = start + (us - start) * factor;
        bytes[at..at + 4].copy_from_slice(&((stretched / 1_000_000) as u32).to_le_bytes());
        bytes[at + 4..at + 8].copy_from_slice(&((stretched % 1_000_000) as u32).to_le_bytes());
        at += 16 + len;
    }
    bytes
}

fn generated(kind: wirenote_bench::Kind, factor: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    wirenote_bench::generate(kind, 6_000_000, 3, &mut bytes).unwrap();
    stretch(bytes, factor)
}

/// While the first pass is held at three quarters of the capture, the second pass must
/// still get well into it: connections settled so far are not waited for.
#[test]
fn the_second_pass_runs_while_the_first_is_held() {
    use std::sync::mpsc;
    use std::time::Duration;
    let bytes = generated(wirenote_bench::Kind::Short, 100);
    let want = after_first_pass(&bytes);
    let hold_at = want.len() as u64 * 3 / 4;
    let board = Arc::new(FactBoard::new());
    let (held_tx, held_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (row_tx, row_rx) = mpsc::channel();
    std::thread::scope(|scope| {
        let (board_ref, bytes_ref) = (&board, &bytes);
        scope.spawn(move || {
            let _close = CloseOnDrop(board_ref);
            let mut first = first_pass(board_ref);
            let mut reader = CaptureReader::from_slice(bytes_ref).unwrap();
            while let Ok(Some(frame)) = reader.next_frame() {
                if frame.number == hold_at {
                    held_tx.send(()).unwrap();
                    go_rx.recv().unwrap();
                }
                first.dissect(&frame);
                first.take_finished();
            }
            first.finish();
        });
        scope.spawn(move || {
            let mut second = second_pass(board_ref);
            let mut reader = CaptureReader::from_slice(bytes_ref).unwrap();
            while let Ok(Some(frame)) = reader.next_frame() {
                row_tx.send(second.dissect(&frame)).unwrap();
                second.take_finished();
            }
        });
        held_rx.recv().unwrap();
        let mut got = Vec::new();
        while let Ok(row) = row_rx.recv_timeout(Duration::from_secs(2)) {
            got.push(row);
        }
        let while_held = got.len();
        eprintln!(
            "{while_held} of {} rows while the first pass was held at frame {hold_at}",
            want.len()
        );
        go_tx.send(()).unwrap();
        got.extend(row_rx.iter());
        assert!(
            while_held > want.len() / 4,
            "{while_held} of {} rows while the first pass was held at frame {hold_at}",
            want.len()
        );
        assert!(while_held < want.len(), "and it did wait for the rest");
        assert_eq!(got, want);
    });
}

#[test]
fn following_equals_waiting_on_generated_captures() {
    for kind in [wirenote_bench::Kind::Short, wirenote_bench::Kind::KeepAlive] {
        let bytes = generated(kind, 100);
        let rows = assert_same(&format!("{kind:?}"), &bytes);
        assert!(rows > 5_000);
        // The point of following: here connections are settled while the first pass is
        // still running. Response frames must be there on request rows.
        let answered = following(&bytes)
            .iter()
            .flat_map(|r| r.http.iter())
            .filter(|h| h.response_in.is_some())
            .count();
        assert!(answered > 100, "{kind:?}: {answered} answered requests");
    }
}

/// A first pass that stops before the end without finishing (it failed) closes the board;
/// the follower then says so on the first frame whose connection was never settled, and
/// every row before that is the right one.
#[test]
fn a_failed_first_pass_is_noticed_not_papered_over() {
    let bytes = generated(wirenote_bench::Kind::Short, 100);
    let want = after_first_pass(&bytes);
    let stop_at = want.len() as u64 / 2;
    let board = Arc::new(FactBoard::new());
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let _close = CloseOnDrop(&board);
            let mut first = first_pass(&board);
            let mut reader = CaptureReader::from_slice(&bytes).unwrap();
            while let Ok(Some(frame)) = reader.next_frame() {
                if frame.number == stop_at {
                    return; // no finish: as if reading failed here
                }
                first.dissect(&frame);
                first.take_finished();
            }
        });
        let mut second = second_pass(&board);
        let mut reader = CaptureReader::from_slice(&bytes).unwrap();
        let mut lost_at = None;
        while let Ok(Some(frame)) = reader.next_frame() {
            let row = second.dissect(&frame);
            if second.lost_the_first_pass() {
                lost_at = Some(frame.number);
                break;
            }
            assert_eq!(row, want[frame.number as usize - 1]);
        }
        let lost_at = lost_at.expect("the follower noticed");
        assert!(
            lost_at > 1000 && lost_at <= stop_at,
            "noticed at frame {lost_at}"
        );
    });
}
