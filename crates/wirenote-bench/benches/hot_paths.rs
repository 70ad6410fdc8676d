//! Criterion benches of the hot paths, with byte throughput (of the capture): walking a
//! capture, a first pass (tracking and HTTP framing, no Info text), dissecting frames into
//! rows (link, IP, TCP, tracker, HTTP, Info), and formatting rows as CSV, on generated
//! captures of both kinds.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::sync::Arc;
use wirenote_bench::{generate, Kind};
use wirenote_core::record::PacketRecord;
use wirenote_core::CaptureReader;
use wirenote_core::{Dissector, Exchanges, FactBoard, Pass};
use wirenote_export::{Format, TableWriter};

fn captures() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    for (name, kind) in [("short", Kind::Short), ("keepalive", Kind::KeepAlive)] {
        let mut bytes = Vec::new();
        generate(kind, 8 << 20, 1, &mut bytes).unwrap();
        out.push((name, bytes));
    }
    out
}

/// Times `routine` over each generated capture, with the capture's size as throughput.
fn over_captures(c: &mut Criterion, group: &str, samples: usize, routine: fn(&[u8]) -> u64) {
    let mut group = c.benchmark_group(group);
    group.sample_size(samples);
    for (name, bytes) in captures() {
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &bytes, |b, bytes| {
            b.iter(|| routine(bytes))
        });
    }
    group.finish();
}

fn walk(c: &mut Criterion) {
    over_captures(c, "capture_walk", 100, |bytes| {
        let mut reader = CaptureReader::from_slice(bytes).unwrap();
        let mut n = 0u64;
        while let Ok(Some(frame)) = reader.next_frame() {
            n += frame.data.len() as u64;
        }
        n
    });
}

fn dissect(c: &mut Criterion) {
    over_captures(c, "dissect_and_track", 10, |bytes| {
        let mut reader = CaptureReader::from_slice(bytes).unwrap();
        let mut dissector = Dissector::new();
        let mut n = 0u64;
        while let Ok(Some(frame)) = reader.next_frame() {
            n += dissector.dissect(&frame).info.len() as u64;
            dissector.take_finished();
            dissector.take_exchanges();
        }
        n
    });
}

fn first_pass(c: &mut Criterion) {
    over_captures(c, "first_pass", 10, |bytes| {
        let mut reader = CaptureReader::from_slice(bytes).unwrap();
        let board = Arc::new(FactBoard::new());
        let mut dissector = Dissector::for_pass(Pass::First(Arc::clone(&board)), Exchanges::Framed);
        let mut n = 0;
        while let Ok(Some(frame)) = reader.next_frame() {
            dissector.dissect(&frame);
            n += dissector.take_finished().len() as u64;
        }
        dissector.finish();
        n
    });
}

fn csv_rows(c: &mut Criterion) {
    let mut group = c.benchmark_group("csv_rows");
    group.sample_size(10);
    for (name, bytes) in captures() {
        let rows: Vec<PacketRecord> = {
            let mut reader = CaptureReader::from_slice(&bytes).unwrap();
            let mut dissector = Dissector::new();
            let mut rows = Vec::new();
            while let Ok(Some(frame)) = reader.next_frame() {
                rows.push(dissector.dissect(&frame));
            }
            rows
        };
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &rows, |b, rows| {
            b.iter(|| {
                let mut table = TableWriter::packets(Format::Csv, std::io::sink());
                for row in rows {
                    table.packet(row).unwrap();
                }
                table.finish().unwrap();
            })
        });
    }
    group.finish();
}

criterion_group!(benches, walk, first_pass, dissect, csv_rows);
criterion_main!(benches);
