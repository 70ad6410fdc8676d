//! Criterion benches of the hot paths, with byte throughput (of the capture): walking a
//! capture, a first pass (tracking and HTTP framing, no Info text), dissecting frames into
//! rows (link, IP, TCP, tracker, HTTP, Info), and formatting rows as CSV, on generated
//! captures of both kinds.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use wirenote_bench::{generate, Kind};
use wirenote_core::capture::CaptureReader;
use wirenote_core::dissect::Dissector;
use wirenote_core::record::PacketRecord;
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

fn walk(c: &mut Criterion) {
    let mut group = c.benchmark_group("capture_walk");
    for (name, bytes) in captures() {
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &bytes, |b, bytes| {
            b.iter(|| {
                let mut reader = CaptureReader::from_slice(bytes).unwrap();
                let mut n = 0u64;
                while let Ok(Some(frame)) = reader.next_frame() {
                    n += frame.data.len() as u64;
                }
                n
            })
        });
    }
    group.finish();
}

fn dissect(c: &mut Criterion) {
    let mut group = c.benchmark_group("dissect_and_track");
    group.sample_size(10);
    for (name, bytes) in captures() {
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &bytes, |b, bytes| {
            b.iter(|| {
                let mut reader = CaptureReader::from_slice(bytes).unwrap();
                let mut dissector = Dissector::new();
                let mut n = 0usize;
                while let Ok(Some(frame)) = reader.next_frame() {
                    n += dissector.dissect(&frame).info.len();
                    dissector.take_finished();
                    dissector.take_exchanges();
                }
                n
            })
        });
    }
    group.finish();
}

fn first_pass(c: &mut Criterion) {
    let mut group = c.benchmark_group("first_pass");
    group.sample_size(10);
    for (name, bytes) in captures() {
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &bytes, |b, bytes| {
            b.iter(|| {
                let mut reader = CaptureReader::from_slice(bytes).unwrap();
                let mut dissector = Dissector::first_pass();
                while let Ok(Some(frame)) = reader.next_frame() {
                    dissector.dissect(&frame);
                    dissector.take_finished();
                }
                dissector.into_facts().completeness.len()
            })
        });
    }
    group.finish();
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
