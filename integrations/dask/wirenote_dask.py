"""wirenote on a Dask cluster: captures on shared storage in, Parquet datasets out.

Each Dask task runs `wirenote batch` on one shard of the inputs (`--shard i/n`) inside a
worker, writing `OUT/shard-i/{packets,flows,http}/<capture>.parquet` and the shard's
`batch-summary.csv`; every shard sees the same input list, so each capture's relative
path (the `capture` column) is the same whichever worker wrote it. The datasets are then
read back with dask.dataframe on the same cluster: row counts per table and HTTP
requests per status per capture.

Why Dask rather than Spark: wirenote is a native binary that works on files, so an engine
only needs to run a command on many machines and read Parquet back. Dask does both from
plain Python (`pip install "dask[distributed]"`, no JVM), its scheduler and workers are
two commands, and `LocalCluster(processes=True)` starts the same TCP scheduler and worker
processes on one machine for tests.

One machine:
    python3 integrations/dask/wirenote_dask.py --out out/ '/data/captures/**/*.pcap'
Several (paths must be the same on every machine, e.g. an NFS mount):
    dask scheduler --host 10.0.0.1 --port 8786              # on the scheduler machine
    dask worker tcp://10.0.0.1:8786 --nworkers 2 --nthreads 1   # on each worker machine
    python3 integrations/dask/wirenote_dask.py --scheduler tcp://10.0.0.1:8786 \\
        --out /shared/out --shards 32 '/shared/captures/**/*.pcap'
"""

import argparse
import glob
import os
import subprocess
import sys


def expand(patterns):
    """Files named, or matched by glob patterns (recursive `**`), or listed in @FILE."""
    paths = []
    for pattern in patterns:
        if pattern.startswith("@"):
            with open(pattern[1:]) as f:
                paths.extend(line.strip() for line in f if line.strip())
        elif any(c in pattern for c in "*?["):
            paths.extend(sorted(glob.glob(pattern, recursive=True)))
        else:
            paths.append(pattern)
    return [os.path.abspath(p) for p in paths]


def run_shard(wirenote, inputs, out, shard, shards):
    """One task: `wirenote batch` on shard `shard` of `shards`; its exit status and the
    shard's output folder (2 means some input failed: its summary row says why)."""
    shard_out = os.path.join(out, f"shard-{shard}")
    result = subprocess.run(
        [wirenote, "batch", *inputs, "-o", shard_out, "--format", "parquet",
         "--shard", f"{shard}/{shards}", "-j", "1", "--quiet"],
        capture_output=True, text=True,
    )
    if result.returncode not in (0, 1, 2):
        raise RuntimeError(f"wirenote batch shard {shard}/{shards}: {result.stderr.strip()}")
    return result.returncode, shard_out


def dataset(out, table):
    """Every Parquet file of one table across the shards."""
    return sorted(glob.glob(os.path.join(out, "shard-*", table, "**", "*.parquet"), recursive=True))


def process(client, inputs, out, wirenote="wirenote", shards=None, timeout=None):
    """Runs every shard on the cluster; returns the exit statuses, in shard order."""
    shards = shards or max(1, 2 * len(client.scheduler_info()["workers"]))
    futures = [
        client.submit(run_shard, wirenote, inputs, out, i, shards, pure=False)
        for i in range(shards)
    ]
    return [f.result(timeout=timeout)[0] for f in futures]


def analyse(out):
    """Reads the datasets back with dask.dataframe (on the current client): rows per
    table, and HTTP requests per status per capture."""
    import dask.dataframe as dd

    counts = {}
    frames = {}
    for table in ["packets", "flows", "http"]:
        files = dataset(out, table)
        if files:
            frames[table] = dd.read_parquet(files)
            counts[table] = int(frames[table].shape[0].compute())
        else:
            counts[table] = 0
    per_status = {}
    if "http" in frames:
        grouped = frames["http"].groupby(["capture", "status"], dropna=False).size().compute()
        per_status = {(c, None if s != s else int(s)): int(n) for (c, s), n in grouped.items()}
    return counts, per_status


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("inputs", nargs="+", help="captures, glob patterns, or @LIST files")
    parser.add_argument("--out", required=True, help="output folder on shared storage")
    parser.add_argument("--scheduler", help="tcp://HOST:PORT (default: a local cluster)")
    parser.add_argument("--shards", type=int, help="tasks (default: 2 per worker)")
    parser.add_argument("--wirenote", default="wirenote", help="the binary on the workers")
    args = parser.parse_args(argv)
    from dask.distributed import Client, LocalCluster

    inputs = expand(args.inputs)
    if args.scheduler:
        client, cluster = Client(args.scheduler), None
    else:
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
        client = Client(cluster)
    try:
        codes = process(client, inputs, os.path.abspath(args.out), args.wirenote, args.shards)
        counts, per_status = analyse(os.path.abspath(args.out))
        print(f"rows: {counts}")
        for (capture, status), n in sorted(per_status.items(), key=str):
            print(f"{capture}\t{status}\t{n}")
        return max(codes)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


if __name__ == "__main__":
    sys.exit(main())
