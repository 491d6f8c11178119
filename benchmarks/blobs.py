"""Throughput of artifact files: log and download, folder blob store vs an S3 bucket.

Two payloads: one file of 1 GiB, and 10,000 files of 1 KiB. Each is logged into a fresh
store (``Client.log_artifact``) and downloaded into a fresh folder
(``ArtifactVersion.download``); the figure is payload bytes per second (MB = 10^6 bytes)
and, for the small files, files per second. The bucket is a one-node OpenStack Swift
with s3api started on loopback for the run (``make swift-deps`` installs it), so the
figures measure this client against a real object store on the same machine.

    python -m benchmarks.blobs [--big-mib 1024] [--small 10000] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import registry_widget as rw
from tests.servers import swift as swift_server

BUCKET = "rw-bench"


def _payloads(folder: Path, big_mib: int, small: int) -> dict[str, Path]:
    big = folder / "big"
    big.mkdir()
    chunk = os.urandom(1024 * 1024)
    with (big / "weights.bin").open("wb") as fh:
        for i in range(big_mib):
            fh.write(chunk[:-8] + i.to_bytes(8, "little"))  # every MiB distinct
    many = folder / "small"
    many.mkdir()
    for i in range(small):
        (many / f"f{i:05}.txt").write_bytes(os.urandom(1016) + i.to_bytes(8, "little"))
    return {f"1 file of {big_mib} MiB": big, f"{small} files of 1 KiB": many}


def _size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def _run(name: str, make: Callable[[Path], rw.Client], src: Path, work: Path) -> dict[str, Any]:
    nbytes, nfiles = _size(src)
    store = work / "store"
    store.mkdir()
    client = make(store)
    start = time.perf_counter()
    version = client.log_artifact("bench", type="dataset", files=src)
    logged = time.perf_counter() - start
    start = time.perf_counter()
    version.download(work / "out")
    downloaded = time.perf_counter() - start
    shutil.rmtree(work / "out")
    shutil.rmtree(store)
    row = {
        "backend": name,
        "bytes": nbytes,
        "files": nfiles,
        "log_s": round(logged, 2),
        "download_s": round(downloaded, 2),
        "log_MB_s": round(nbytes / logged / 1e6, 3),
        "download_MB_s": round(nbytes / downloaded / 1e6, 3),
        "log_files_s": round(nfiles / logged),
        "download_files_s": round(nfiles / downloaded),
    }
    print(
        f"  {name:7} log {row['log_s']:7.2f} s {row['log_MB_s']:8.2f} MB/s "
        f"{row['log_files_s']:7}/s | download {row['download_s']:7.2f} s "
        f"{row['download_MB_s']:8.2f} MB/s {row['download_files_s']:7}/s",
        flush=True,
    )
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-mib", type=int, default=1024)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="rw-bench-blobs-") as tmp:
        folder = Path(tmp)
        server = swift_server.start(folder)
        try:
            for name, value in server.env().items():
                os.environ[name] = value
            import boto3

            boto3.client("s3", endpoint_url=server.endpoint).create_bucket(Bucket=BUCKET)
            payloads = _payloads(folder, args.big_mib, args.small)
            for label, src in payloads.items():
                print(label, flush=True)
                rows = results[label] = []
                for backend in ("folder", "s3"):
                    work = folder / f"work-{backend}"
                    work.mkdir()

                    def make(store: Path, backend: str = backend) -> rw.Client:
                        blobs = f"s3://{BUCKET}/{store.name}-{time.time_ns()}"
                        return rw.Client(
                            store / "registry.json",
                            blobs=blobs if backend == "s3" else None,
                            user="bench",
                        )

                    rows.append(_run(backend, make, src, work))
                    shutil.rmtree(work)
        finally:
            server.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
