"""Helpers shared by every workload: statistics, timers, results files, fresh processes.

This module imports nothing outside the standard library, so the peer workloads can use
it from their own virtual environment.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent

# Tags, metadata and names shared by every system's workload, so that the same store
# shape is built everywhere.
N_COLLECTIONS = 10
TAG_GROUPS = 7
SEARCH_TAG = "exp-3"
SEARCH_ACC = 0.8


def version_tags(i: int) -> list[str]:
    """The three tags of the i-th version."""
    return [f"exp-{i % TAG_GROUPS}", f"seed-{i % 13}", "bench"]


def version_metadata(i: int) -> dict[str, Any]:
    """The metadata of the i-th version: a deterministic accuracy in [0, 1) and an epoch."""
    return {"acc": ((i * 7919) % 10007) / 10007, "epoch": i % 100}


def version_bytes(i: int, salt: str = "") -> bytes:
    """A small unique file body (about 40 bytes)."""
    return f"weights {salt}{i:09d} {i * 2654435761 % 2**32:010d}\n".encode()


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        msg = "percentile of an empty sequence"
        raise ValueError(msg)
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summary(values: Sequence[float]) -> dict[str, Any]:
    """Median, min and max of the repetitions, plus the raw values."""
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "values": list(values),
    }


def per_op_ms(
    fn: Callable[[int], object], count: int, budget_s: float | None = None
) -> tuple[float, int]:
    """Run ``fn(k)`` for k in range(count) and return (ms per call, calls made).

    With ``budget_s`` the loop stops early (after at least 5 calls) once the budget is
    spent, so that a slow operation at large N cannot stall the whole run.
    """
    done = 0
    t0 = time.perf_counter()
    for k in range(count):
        fn(k)
        done += 1
        if budget_s is not None and done >= 5 and time.perf_counter() - t0 > budget_s:
            break
    return (time.perf_counter() - t0) * 1000 / done, done


def latencies_ms(fn: Callable[[int], object], count: int) -> list[float]:
    """Run ``fn(k)`` for k in range(count) and return each call's latency in ms."""
    out = []
    for k in range(count):
        t0 = time.perf_counter()
        fn(k)
        out.append((time.perf_counter() - t0) * 1000)
    return out


# Peak resident memory of the running process in MiB, as source text for fresh processes.
# VmHWM belongs to the process's own address space; ru_maxrss is not used on Linux because
# a child started with vfork inherits its parent's high-water mark across exec.
PEAK_RSS_SNIPPET = """
def _peak_rss_mib():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource, sys
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024
"""


def import_code(module: str) -> str:
    """Source for a fresh process that times ``import module`` and reports its peak RSS."""
    return (
        PEAK_RSS_SNIPPET
        + f"""
import json, time
t0 = time.perf_counter()
import {module}
s = time.perf_counter() - t0
print(json.dumps({{"s": s, "rss": _peak_rss_mib()}}))
"""
    )


def peak_rss_mib() -> float:
    """Peak resident set size of this process in MiB."""
    namespace: dict[str, Any] = {}
    exec(PEAK_RSS_SNIPPET, namespace)  # the same code the fresh processes run
    return float(namespace["_peak_rss_mib"]())


def run_fresh(
    code: str,
    *,
    python: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter and return the JSON its last stdout line holds."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    proc = subprocess.run(
        [python or sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        msg = f"fresh process failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
        raise RuntimeError(msg)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        msg = f"fresh process printed no JSON:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        raise RuntimeError(msg)
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def fsync_ms(count: int = 50) -> dict[str, float]:
    """Latency of a small write + fsync in the temp folder (where the stores live).

    The floor under every durable write; it shows how busy the disk was during a run.
    """
    lat = []
    with tempfile.NamedTemporaryFile() as f:
        for _ in range(count):
            f.write(b"x" * 64)
            f.flush()
            t0 = time.perf_counter()
            os.fsync(f.fileno())
            lat.append((time.perf_counter() - t0) * 1000)
    return {"p50": percentile(lat, 50), "p95": percentile(lat, 95)}


def concurrent_writers(
    code: str, processes: int, *, python: str | None = None, env: dict[str, str] | None = None
) -> dict[str, float]:
    """Run ``code`` in ``processes`` fresh interpreters at once and time them together.

    Each prints ``ready`` once it is set up, waits for a line on its standard input, does
    its writes and prints ``{"ok": k, "failed": f}``, with ``"cpu_s"`` if it measured the
    CPU time of its writes. The clock runs from the moment every one of them was told to
    go until the last one finished; returns the aggregate ``ops_s`` (acknowledged writes
    per second), ``ok``, ``failed`` and ``seconds``, and ``cpu_s`` (the sum) when every
    process gave one.
    """
    full_env = {**os.environ, **(env or {})}
    procs = [
        subprocess.Popen(
            [python or sys.executable, "-c", code, str(k)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            text=True,
        )
        for k in range(processes)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if line.strip() != "ready":
                err = proc.stderr.read() if proc.stderr else ""
                msg = f"writer process did not start:\n{line}{err[-3000:]}"
                raise RuntimeError(msg)
        t0 = time.perf_counter()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outs = [proc.communicate(timeout=3600) for proc in procs]
        seconds = time.perf_counter() - t0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    ok = failed = 0
    cpu: list[float] = []
    for proc, (out, err) in zip(procs, outs, strict=True):
        lines = [line for line in out.splitlines() if line.startswith("{")]
        if proc.returncode != 0 or not lines:
            msg = f"writer process failed ({proc.returncode}):\n{err[-3000:]}"
            raise RuntimeError(msg)
        result = json.loads(lines[-1])
        ok += int(result["ok"])
        failed += int(result["failed"])
        if "cpu_s" in result:
            cpu.append(float(result["cpu_s"]))
    figures = {"ops_s": ok / seconds, "ok": ok, "failed": failed, "seconds": seconds}
    if len(cpu) == len(procs):
        figures["cpu_s"] = sum(cpu)
    return figures


def log(message: str) -> None:
    """Progress on stderr (stdout is reserved for results)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Recorder:
    """Collects the figures of one system at one N and rewrites its results file after each.

    Writing after every figure means that a run stopped by its time limit still leaves
    everything measured so far.
    """

    def __init__(self, system: str, n: int, out: Path | None) -> None:
        self.out = out
        self.data: dict[str, Any] = {"system": system, "n": n, "ops": {}, "notes": []}

    def add(self, op: str, unit: str, values: Sequence[float], **extra: Any) -> None:
        """Record the repetitions of one figure."""
        entry = {"unit": unit, **summary(values), **extra}
        self.data["ops"][op] = entry
        log(f"{self.data['system']} N={self.data['n']} {op}: median {entry['median']:.4g} {unit}")
        self.flush()

    def note(self, text: str) -> None:
        """Record something that could not be measured, and why."""
        self.data["notes"].append(text)
        log(f"{self.data['system']} N={self.data['n']} note: {text}")
        self.flush()

    def set(self, key: str, value: Any) -> None:
        """Record a piece of context (versions, build time)."""
        self.data[key] = value
        self.flush()

    def flush(self) -> None:
        """Rewrite the results file, if any."""
        if self.out is not None:
            tmp = self.out.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data, indent=1))
            tmp.replace(self.out)


def parse_args(description: str) -> argparse.Namespace:
    """The options every workload takes (the harness passes all of them)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--n", type=int, required=True, help="versions in the store")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--sample", type=int, default=200, help="writes timed per repetition")
    p.add_argument("--resolve", type=int, default=1000, help="resolves per repetition")
    p.add_argument("--search", type=int, default=100, help="searches per repetition")
    p.add_argument("--page", type=int, default=100, help="page reads per repetition")
    p.add_argument("--budget", type=float, default=60.0, help="seconds per timed loop")
    p.add_argument("--build-budget", type=float, default=1800.0, help="seconds for the fill")
    p.add_argument("--out", type=Path, default=None, help="results JSON (rewritten as it goes)")
    p.add_argument(
        "--url", default=None, help="a PostgreSQL database to fill (the team-server workload)"
    )
    p.add_argument("--writers", type=int, default=8, help="writer processes (server workload)")
    p.add_argument(
        "--fill",
        choices=("api", "bulk"),
        default="api",
        help="server workload: fill through the API, or build a file store and load it in bulk",
    )
    p.add_argument(
        "--reads-only", action="store_true", help="server workload: no timed writes or writers"
    )
    return p.parse_args()


def recorder(system: str, args: argparse.Namespace) -> Recorder:
    """A recorder for this system at this N, with the run's parameters attached."""
    rec = Recorder(system, args.n, args.out)
    names = ("repeat", "sample", "resolve", "search", "page", "budget", "build_budget")
    rec.set("params", {k: getattr(args, k) for k in names})
    return rec
