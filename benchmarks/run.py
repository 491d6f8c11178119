"""Run the registry benchmark and print its figures (see BENCHMARKS.md for the workload).

    python -m benchmarks.run                 # N = 1,000 and 10,000, 3 repetitions
    python -m benchmarks.run --full          # and N = 100,000
    python -m benchmarks.run --compare       # and MLflow and Trackio side by side
    python -m benchmarks.run --quick         # a smoke run at tiny N
    python -m benchmarks.run --server        # on a throwaway PostgreSQL, against MLflow

Each system at each N runs in its own process with a time limit; every figure is the
median of the repetitions, shown with their min and max.

``--server`` runs the team-server workload: one throwaway PostgreSQL 15 on loopback
(``fsync`` on; started and stopped by the test suite's harness, tests/servers/postgres.py),
a fresh database per system and N, ours over ``postgresql://`` and MLflow's model
registry with ``registry_uri="postgresql://…"`` on the same server, in the same run.
MLflow runs at the N up to ``--peer-max-n`` within ``--peer-timeout`` seconds each.
``--fill bulk`` builds our store's workload in a file store with the API and loads its
rows into PostgreSQL in bulk, checked against it (:mod:`benchmarks.server_fill`): N =
100,000 in minutes instead of hours; ``--reads-only`` leaves out the timed writes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import peers_env, report
from benchmarks.common import REPO_ROOT, fsync_ms, log

DEFAULT_N = [1000, 10_000]
FULL_N = 100_000
PEER_N = [1000, 5000]
QUICK = {"n": [60], "repeat": 1, "sample": 10, "resolve": 50, "search": 5, "page": 5}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--n", type=int, nargs="+", default=None, help="store sizes (default 1k 10k)")
    p.add_argument("--full", action="store_true", help="add N = 100,000")
    p.add_argument("--repeat", type=int, default=3, help="repetitions per figure (>= 3 to quote)")
    p.add_argument("--json", type=Path, default=None, help="results file (default results/)")
    p.add_argument("--compare", action="store_true", help="also run MLflow and Trackio")
    p.add_argument("--quick", action="store_true", help="smoke run: tiny N, 1 repetition")
    p.add_argument("--peer-n", type=int, nargs="+", default=None, help="N for the peers")
    p.add_argument(
        "--peer-max-n", type=int, default=10_000, help="largest of our N the peers also run"
    )
    p.add_argument("--sample", type=int, default=200, help="writes timed per repetition")
    p.add_argument("--budget", type=float, default=60.0, help="seconds per timed loop")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds per system and N")
    p.add_argument(
        "--server", action="store_true", help="on a throwaway PostgreSQL, against MLflow there"
    )
    p.add_argument(
        "--peer-timeout", type=float, default=600.0, help="seconds for MLflow per N (--server)"
    )
    p.add_argument("--writers", type=int, default=8, help="writer processes (--server)")
    p.add_argument("--searches", type=int, default=100, help="searches per repetition")
    p.add_argument(
        "--fill",
        choices=("api", "bulk"),
        default="api",
        help="--server, ours: fill through the API, or build a file store and load it in bulk",
    )
    p.add_argument(
        "--reads-only", action="store_true", help="--server, ours: no timed writes or writers"
    )
    args = p.parse_args(argv)
    args.resolve, args.search, args.page = 1000, args.searches, 100
    if args.quick:
        for key, value in QUICK.items():
            if key != "n" or args.n is None:
                setattr(args, key, value)
    if args.n is None:
        args.n = DEFAULT_N + ([FULL_N] if args.full else [])
    elif args.full and FULL_N not in args.n:
        args.n.append(FULL_N)
    if args.server and args.peer_n is None:
        args.peer_n = [n for n in args.n if n <= args.peer_max_n]
    if args.peer_n is None:
        extra = [] if args.quick else PEER_N
        args.peer_n = sorted({*extra, *(n for n in args.n if n <= args.peer_max_n)})
    if args.compare:
        # Ratios need our figures at every N the peers ran.
        args.n = sorted({*args.n, *args.peer_n})
    args.n = sorted(set(args.n))
    return args


def worker(cmd: list[str], env: dict[str, str], timeout: float, label: str) -> dict[str, Any]:
    """Run one workload process; return its figures, partial ones after a failure."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [*cmd, "--out", str(out)]
        log(f"{label}: {' '.join(cmd[1:])}")
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        problem = None
        try:
            code = proc.wait(timeout=timeout)
            if code != 0:
                problem = f"stopped with exit code {code} (see the log above)"
        except subprocess.TimeoutExpired:
            # The worker leads its own process group: stop it and its fresh processes.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            problem = f"stopped by the time limit of {timeout:.0f} s"
        result: dict[str, Any]
        result = json.loads(out.read_text()) if out.exists() else {"ops": {}, "notes": []}
    result.setdefault("wall_s", time.perf_counter() - t0)
    if problem:
        result.setdefault("notes", []).append(problem)
        log(f"{label}: {problem}")
    return result


def workload_args(args: argparse.Namespace, n: int, timeout: float | None = None) -> list[str]:
    names = ("repeat", "sample", "resolve", "search", "page", "budget", "writers")
    out = ["--n", str(n), "--build-budget", str((timeout or args.timeout) * 0.5)]
    for name in names:
        out += [f"--{name}", str(getattr(args, name))]
    return out


def machine_info(peer_versions: dict[str, str]) -> dict[str, Any]:
    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    git = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    meminfo = Path("/proc/meminfo")
    mem = meminfo.read_text().split("\n")[0] if meminfo.exists() else ""
    deps = ("tinydb", "orjson", "anywidget", "ipywidgets", "traitlets")
    return {
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "memory": " ".join(mem.split()[1:]),
        # Other work on the machine skews timings; the load average shows how busy it was.
        "load_average_at_end": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "registry_widget_commit": git.stdout.strip() or None,
        "packages": {name: version(name) for name in deps},
        "peers": peer_versions,
    }


def server_runs(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every system at every N on one throwaway PostgreSQL, a fresh database each."""
    import psycopg

    from tests.servers import postgres as postgres_server

    server = postgres_server.start(fsync=True)
    runs: list[dict[str, Any]] = []
    env = {"PYTHONPATH": str(REPO_ROOT)}
    try:
        log(f"PostgreSQL on {server.host}:{server.port} (fsync on)")
        with psycopg.connect(server.url(), autocommit=True) as admin:
            admin.execute(f"CREATE ROLE {SERVER_LOGIN} LOGIN")
            for n in sorted({*args.n, *args.peer_n}):
                if n in args.peer_n:
                    admin.execute(f"CREATE DATABASE mlflow_{n}")
                    script = REPO_ROOT / "benchmarks" / "peers" / "mlflow_bench.py"
                    # SQLAlchemy's psycopg2 dialect, the driver MLflow documents.
                    url = server.url(database=f"mlflow_{n}").replace(
                        "postgresql://", "postgresql+psycopg2://"
                    )
                    cmd = [str(peers_env.python()), str(script)]
                    cmd += [*workload_args(args, n, args.peer_timeout), "--url", url]
                    result = worker(cmd, {}, args.peer_timeout, f"mlflow N={n} on PostgreSQL")
                    runs.append({**result, "system": "mlflow", "n": n})
                    admin.execute(f"DROP DATABASE mlflow_{n} WITH (FORCE)")
                if n in args.n:
                    admin.execute(f"CREATE DATABASE ours_{n} OWNER {SERVER_LOGIN}")
                    url = server.url(SERVER_LOGIN, f"ours_{n}")
                    cmd = [sys.executable, "-m", "benchmarks.ours", *workload_args(args, n)]
                    cmd += ["--url", url, "--fill", args.fill]
                    cmd += ["--reads-only"] if args.reads_only else []
                    result = worker(cmd, env, args.timeout, f"registry_widget N={n} on PostgreSQL")
                    runs.append({**result, "system": report.OURS, "n": result.get("n_built", n)})
                    admin.execute(f"DROP DATABASE ours_{n} WITH (FORCE)")
    finally:
        server.stop()
    return runs


SERVER_LOGIN = "bench"  # the workload's user: on a server store the user is the login


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.server:
        return run_server(args)
    peer_versions = peers_env.ensure() if args.compare else {}
    load_at_start = os.getloadavg() if hasattr(os, "getloadavg") else None
    fsync_at_start = fsync_ms()
    runs: list[dict[str, Any]] = []
    env = {"PYTHONPATH": str(REPO_ROOT)}
    if args.compare:
        for n in args.peer_n:
            for peer in report.PEERS:
                script = REPO_ROOT / "benchmarks" / "peers" / f"{peer}_bench.py"
                cmd = [str(peers_env.python()), str(script), *workload_args(args, n)]
                result = worker(cmd, {}, args.timeout, f"{peer} N={n}")
                runs.append({**result, "system": peer, "n": n})
    for n in args.n:
        cmd = [sys.executable, "-m", "benchmarks.ours", *workload_args(args, n)]
        result = worker(cmd, env, args.timeout, f"registry_widget N={n}")
        # A fill stopped by its budget leaves a smaller store: label the figures with it.
        runs.append({**result, "system": report.OURS, "n": result.get("n_built", n)})
    machine = machine_info(peer_versions)
    machine["load_average_at_start"] = load_at_start
    machine["fsync_ms_at_start"] = fsync_at_start
    machine["fsync_ms_at_end"] = fsync_ms()
    return {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine,
        "config": {k: v for k, v in vars(args).items() if k != "json"},
        "runs": runs,
        "figures": report.figure_rows(runs),
        "scaling": report.scaling_rows(runs),
        "ratios": report.ratio_rows(runs),
    }


def run_server(args: argparse.Namespace) -> dict[str, Any]:
    """The team-server workload (``--server``): ours and MLflow on one PostgreSQL."""
    # MLflow is installed only when it runs (--peer-max-n below every N: ours only).
    versions = peers_env.ensure() if args.peer_n else {}
    peer_versions = {k: v for k, v in versions.items() if k != "trackio"}
    load_at_start = os.getloadavg() if hasattr(os, "getloadavg") else None
    fsync_at_start = fsync_ms()
    runs = server_runs(args)
    machine = machine_info(peer_versions)
    machine["load_average_at_start"] = load_at_start
    machine["fsync_ms_at_start"] = fsync_at_start
    machine["fsync_ms_at_end"] = fsync_ms()
    machine["server"] = "PostgreSQL 15 on loopback, fsync on"
    return {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine,
        "config": {k: v for k, v in vars(args).items() if k != "json"},
        "runs": runs,
        "figures": report.figure_rows(runs, targets={}),
        "scaling": report.scaling_rows(runs, "peak_rss_mib", report.RSS_SCALING_TARGET),
        "ratios": report.ratio_rows(runs, report.SERVER_RATIO_TARGETS, report.SERVER_PEERS),
    }


def print_report(results: dict[str, Any]) -> None:
    m = results["machine"]
    print(
        f"\nregistry benchmark  {results['created']}  {m['cpu_count']} CPUs  "
        f"Python {m['python']}  commit {m['registry_widget_commit']}"
    )
    if m["load_average_at_end"]:
        load = ", ".join(f"{x:.2f}" for x in m["load_average_at_end"])
        print(f"load average at the end: {load} (other work on the machine skews timings)")
    fs = [m["fsync_ms_at_start"]["p50"], m["fsync_ms_at_end"]["p50"]]
    print(f"fsync p50 at start / end: {fs[0]:.3g} / {fs[1]:.3g} ms (the floor of a durable write)")
    if m["peers"]:
        print("peers: " + ", ".join(f"{k} {v}" for k, v in m["peers"].items()))
    print(f"medians of {results['config']['repeat']} repetitions (min and max alongside)\n")
    print(report.figures_table(results["figures"]))
    if results["scaling"]:
        print("\n" + report.scaling_table(results["scaling"]))
    if results["ratios"]:
        print("\nratios at the same N (peer median / our median; higher is better for us)")
        peers = report.SERVER_PEERS if results["config"].get("server") else report.PEERS
        print(report.ratios_table(results["ratios"], peers))
    notes = [f"{r['system']} N={r['n']}: {note}" for r in results["runs"] for note in r["notes"]]
    if notes:
        print("\nnot measured / notes:")
        print("\n".join(f"  - {note}" for note in notes))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.repeat < 3 and not args.quick:
        log(f"--repeat {args.repeat}: fewer than 3 repetitions; do not quote these medians")
    results = run(args)
    path = args.json or REPO_ROOT / "benchmarks" / "results" / time.strftime("%Y%m%d-%H%M%S.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1))
    print_report(results)
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
