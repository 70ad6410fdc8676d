//! The Python integrations under `integrations/`, run by `cargo test` so that the README's
//! one test command covers them: DuckDB over a batch's Parquet datasets, and wirenote on a
//! real Dask cluster (a scheduler and two worker processes on 127.0.0.1). Each skips
//! visibly without python3 or its Python packages (a failure under `CI=true`, where
//! `.ci/run` installs them).

mod common;

use std::process::Command;

use common::{require, skipped, workspace};

/// Whether `python3` can import every module of `modules`; says the tests are skipped
/// when not (a failure under `CI=true`).
fn python_with(modules: &[&str]) -> bool {
    if !require("python3") {
        return false;
    }
    let imports = format!("import {}", modules.join(", "));
    let ok = Command::new("python3")
        .args(["-c", &imports])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            !wirenote_testkit::in_ci(),
            "CI=true but python3 cannot `{imports}` (.ci/run installs them)"
        );
        skipped(
            &format!("the tests that `{imports}`"),
            "Python packages not installed",
        );
    }
    ok
}

fn run_python(script: &str) {
    let out = Command::new("python3")
        .arg(workspace().join(script))
        .env("WIRENOTE_BIN", env!("CARGO_BIN_EXE_wirenote"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn duckdb_queries_a_batchs_parquet_datasets() {
    if python_with(&["duckdb"]) {
        run_python("integrations/duckdb/test_duckdb.py");
    }
}

#[test]
fn dask_cluster_runs_shards_and_reads_the_datasets_back() {
    if python_with(&["dask.dataframe", "distributed", "pyarrow"]) {
        run_python("integrations/dask/test_wirenote_dask.py");
    }
}
