"""DuckDB over a batch's Parquet datasets: the README's queries, checked against the same
batch written as CSV.

Run by `cargo test` (crates/wirenote-cli/tests/integrations.rs), which sets WIRENOTE_BIN
to the binary it built; by hand:
    WIRENOTE_BIN=target/debug/wirenote python3 integrations/duckdb/test_duckdb.py
"""

import collections
import csv
import glob
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import duckdb

ROOT = pathlib.Path(__file__).resolve().parents[2]
WIRENOTE = os.environ.get("WIRENOTE_BIN", str(ROOT / "target/debug/wirenote"))


def batch(inputs, out, fmt):
    subprocess.run(
        [WIRENOTE, "batch", *inputs, "-o", out, "--format", fmt, "--quiet", "-j", "2"],
        check=True,
    )


def query(db, sql):
    """Every row of a query's result."""
    return db.execute(sql).fetchall()


def csv_rows(out, table):
    """Every row of a CSV batch's table, with its capture (the relative path)."""
    rows = []
    suffix = f".{table}.csv"
    for path in sorted(glob.glob(f"{out}/**/*{suffix}", recursive=True)):
        capture = os.path.relpath(path, out)[: -len(suffix)]
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                row["capture"] = capture
                rows.append(row)
    return rows


def main():
    work = pathlib.Path(tempfile.mkdtemp(prefix="wirenote-duckdb-"))
    try:
        captures = work / "captures"
        (captures / "lab2").mkdir(parents=True)
        for name in ["lab-5000.pcap", "lab-chromium.pcap"]:
            shutil.copy(ROOT / "fixtures" / name, captures / name)
        shutil.copy(ROOT / "fixtures/lab-5000.pcap", captures / "lab2/again.pcap")
        out, text = str(work / "out"), str(work / "csv")
        batch([str(captures)], out, "parquet")
        batch([str(captures)], text, "csv")
        db = duckdb.connect()
        packets = f"read_parquet('{out}/packets/**/*.parquet')"
        flows = f"read_parquet('{out}/flows/**/*.parquet')"
        http = f"read_parquet('{out}/http/**/*.parquet')"

        # Typed columns: integers, a nanosecond timestamp, text.
        types = {r[0]: r[1] for r in query(db, f"DESCRIBE SELECT * FROM {packets}")}
        assert types["frame"] == "UBIGINT", types
        assert types["time"].startswith("TIMESTAMP"), types
        assert types["role"] == "VARCHAR", types
        assert types["capture"] == "VARCHAR", types

        # Packets per role, across captures.
        per_role = dict(query(
            db, f"SELECT coalesce(role, ''), count(*) FROM {packets} GROUP BY ALL"
        ))
        expected = collections.Counter(r["role"] for r in csv_rows(text, "packets"))
        assert per_role == dict(expected), (per_role, expected)

        # HTTP status per capture.
        per_status = sorted(query(
            db, f"SELECT capture, status, count(*) FROM {http} GROUP BY ALL ORDER BY ALL"
        ))
        expected = sorted(
            (c, int(s), n)
            for (c, s), n in collections.Counter(
                (r["capture"], r["status"]) for r in csv_rows(text, "http")
            ).items()
        )
        assert per_status == expected, (per_status, expected)
        assert ("lab2/again.pcap", 304, 1) in per_status

        # Packets joined to their flows by (capture, stream): every TCP packet has its
        # flow, and each flow's packets are its counters.
        joined = query(db, f"""
            SELECT f.capture, f.stream, count(*) AS packets,
                   any_value(f.packets_c2s + f.packets_s2c) AS counted
            FROM {packets} p JOIN {flows} f USING (capture, stream)
            GROUP BY ALL
        """)
        [(tcp,)] = query(db, f"SELECT count(*) FROM {packets} WHERE stream IS NOT NULL")
        assert sum(r[2] for r in joined) == tcp, (joined, tcp)
        assert all(r[2] == r[3] for r in joined), joined
        assert len(joined) == len(csv_rows(text, "flows"))
        # An empty CSV cell is a null in Parquet, and only that: column by column, as
        # many values in both.
        for table, source in [("packets", packets), ("flows", flows), ("http", http)]:
            rows = csv_rows(text, table)
            for (column,) in query(db, f"SELECT column_name FROM (DESCRIBE SELECT * FROM {source})"):
                [(values,)] = query(db, f'SELECT count("{column}") FROM {source}')
                filled = sum(1 for r in rows if r.get(column, "") != "")
                assert values == filled, (table, column, values, filled)

        # Times since each capture's first frame (`time_rel`, in every table): the
        # seconds the CSV spells with nine decimals.
        def seconds(text):
            return None if text == "" else float(text)

        def in_order(row):
            return (row[0], -1.0 if row[1] is None else row[1])

        for table, source in [("packets", packets), ("flows", flows), ("http", http)]:
            got = sorted(query(db, f"SELECT capture, time_rel FROM {source}"), key=in_order)
            want = sorted(
                ((r["capture"], seconds(r["time_rel"])) for r in csv_rows(text, table)),
                key=in_order,
            )
            assert len(got) == len(want) > 0, (table, len(got), len(want))
            for (gc, g), (wc, w) in zip(got, want):
                assert gc == wc and g is not None and abs(g - w) < 1e-9, (table, gc, g, wc, w)
        print(f"duckdb: {tcp} TCP packets in {len(joined)} flows, {len(per_status)} status groups: ok")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
