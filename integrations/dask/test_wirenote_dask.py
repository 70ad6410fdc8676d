"""The Dask integration on a real cluster on this machine: a scheduler and two worker
processes talking TCP on 127.0.0.1 run wirenote's shards, then read the Parquet
datasets back; the counts must equal one local `wirenote batch` run's summary.

Run by `cargo test` (crates/wirenote-cli/tests/integrations.rs) with WIRENOTE_BIN set;
bounded: the whole test stops after 240 s, and the cluster is always shut down.
"""

import csv
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile

from dask.distributed import Client, LocalCluster

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import wirenote_dask  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
WIRENOTE = os.environ.get("WIRENOTE_BIN", str(ROOT / "target/debug/wirenote"))
TIMEOUT = 240


def on_timeout(_signum, _frame):
    raise TimeoutError(f"the Dask test took over {TIMEOUT} s")


def main():
    signal.signal(signal.SIGALRM, on_timeout)
    signal.alarm(TIMEOUT)
    work = pathlib.Path(tempfile.mkdtemp(prefix="wirenote-dask-"))
    cluster = client = None
    try:
        captures = work / "captures"
        for i in range(3):
            (captures / f"lab{i}").mkdir(parents=True)
            shutil.copy(ROOT / "fixtures/lab-5000.pcap", captures / f"lab{i}/lab.pcap")
            shutil.copy(ROOT / "fixtures/lab-chromium.pcap", captures / f"lab{i}/chromium.pcap")
        (captures / "broken.pcap").write_bytes(b"no capture here")
        inputs = wirenote_dask.expand([str(captures / "**" / "*.pcap")])
        assert len(inputs) == 7, inputs

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               host="127.0.0.1", protocol="tcp", dashboard_address=None)
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:"), cluster.scheduler_address
        client = Client(cluster, timeout=60)
        client.wait_for_workers(2, timeout=60)
        workers = client.scheduler_info()["workers"]
        assert len(workers) == 2 and all(w.startswith("tcp://127.0.0.1:") for w in workers)
        pids = set(client.run(os.getpid).values())
        assert len(pids) == 2 and os.getpid() not in pids, "two worker processes"

        out = str(work / "out")
        codes = wirenote_dask.process(client, inputs, out, WIRENOTE, shards=4, timeout=120)
        assert max(codes) == 2, f"broken.pcap fails in its shard: {codes}"
        counts, per_status = wirenote_dask.analyse(out)

        # The same captures in one local run: its summary has the counts.
        local = str(work / "local")
        subprocess.run([WIRENOTE, "batch", *inputs, "-o", local, "--quiet"], check=False)
        with open(os.path.join(local, "batch-summary.csv"), newline="") as f:
            rows = [r for r in csv.DictReader(f) if r["status"] == "ok"]
        assert len(rows) == 6
        assert counts == {
            "packets": sum(int(r["packets"]) for r in rows),
            "flows": sum(int(r["connections"]) for r in rows),
            "http": sum(int(r["http_exchanges"]) for r in rows),
        }, counts
        assert per_status[("lab1/lab.pcap", 304)] == 1, per_status
        assert per_status[("lab2/chromium.pcap", 404)] == 2, per_status
        assert sum(per_status.values()) == counts["http"]
        print(f"dask: 2 workers, 4 shards, rows {counts}: ok")
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        signal.alarm(0)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
