//! `--format parquet` and `-o FILE.parquet` for the single-capture commands: the same rows
//! as CSV, typed.

mod common;

use std::process::Command;

use common::workspace;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn wirenote(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wirenote"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn single_capture_commands_write_typed_parquet() {
    let work = tempfile::tempdir().unwrap();
    let lab = workspace().join("fixtures/lab-5000.pcap");
    let lab = lab.to_str().unwrap();
    for (command, rows) in [("annotate", 39), ("flows", 3), ("http", 4)] {
        let csv = wirenote(&[command, lab]);
        let csv_rows = String::from_utf8(csv.stdout).unwrap().lines().count() - 1;
        assert_eq!(csv_rows, rows, "the same rows as CSV");
        // `-o *.parquet` chooses the format; `--format parquet` says it outright.
        let ways: [(&str, &[&str]); 2] = [
            ("by-name.parquet", &[]),
            ("by-flag.pq", &["--format", "parquet"]),
        ];
        for (name, extra) in ways {
            let path = work.path().join(format!("{command}-{name}"));
            let mut args = vec![command, lab, "-o", path.to_str().unwrap()];
            args.extend_from_slice(extra);
            let out = wirenote(&args);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let reader =
                ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap())
                    .unwrap();
            assert_eq!(
                reader.metadata().file_metadata().num_rows(),
                rows as i64,
                "{command}"
            );
            let schema = reader.schema().clone();
            assert!(
                schema.field_with_name("capture").is_err(),
                "no capture column"
            );
            // The first column of every table is an integer (frame, stream).
            assert_eq!(format!("{:?}", schema.field(0).data_type()), "UInt64");
            let rows_read: usize = reader.build().unwrap().map(|b| b.unwrap().num_rows()).sum();
            assert_eq!(rows_read, rows);
        }
    }
}
