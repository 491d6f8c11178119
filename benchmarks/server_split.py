"""Where a durable write's time goes on a team server: the client's CPU, the server's CPU.

    python -m benchmarks.server_split                      # N = 1,000, 300 calls a phase
    make bench-server-split BENCH_ARGS="--n 10000 --calls 500"

Starts a throwaway PostgreSQL 15 on loopback with ``fsync`` on (as ``make bench-server``
does), fills a database with the BENCHMARKS.md workload through the API, and times
``--calls`` durable calls in three phases: ``log_artifact`` alone, ``link`` of those
versions, and log + link one after the other (the ``log_link_durable`` figure). For each
call it gives the wall time, the CPU time of the client process (user + system, every
thread) and the CPU time of the server processes that serve the client: its connection's
and its listener's (from ``/proc``, so the server must run on this machine; background
processes such as the WAL writer are not counted).

Then the same phases again with the policies off: the tables' owner, the workload's
login, is no longer held to row-level security (``NO FORCE ROW LEVEL SECURITY``, on this
throwaway database only; the triggers still run), so the difference is what the policies
cost. They are put back before the function returns.

Last, ``--writers`` processes at once (1, 2, 4 and 8 by default) each log and link
``--writer-calls`` times, as row 10 of ``make bench-server`` does: aggregate ops/s, how
busy the machine's CPUs were meanwhile (from ``/proc/stat``, so other work on the machine
counts too) and the CPU time that makes per operation; then how much of it the writer
processes spent on their writes (each measures its own) and how much the server did
(every process of it, background ones and the ended backends included).

The CPU times come from ``/proc/<pid>/stat`` in clock ticks (10 ms); take enough calls
that each phase runs for seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import registry_widget as rw
from benchmarks.common import REPO_ROOT, concurrent_writers, log
from benchmarks.ours import (
    USER,
    WRITER_CODE,
    build,
    link_version,
    log_and_link,
    log_version,
    write_files,
)

PHASES = ("log", "link", "log_link")
WARM_UP = 20


def _stat(pid: int | str) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after the command name: state, ppid, … (``man 5 proc``).

    Index 1 is the parent, 11 and 12 the process's user and system time, 13 and 14 those
    of the children it has reaped, in clock ticks.
    """
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def process_cpu_s(pid: int) -> float:
    """CPU time (user + system) of process ``pid`` so far, in seconds, from ``/proc``."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu_s(postmaster: int) -> float:
    """CPU time of a PostgreSQL server so far, every process of it, in seconds.

    The postmaster's own, its live children's (backends, WAL writer, checkpointer…) and
    that of the children it has reaped (the backends of closed connections), which the
    kernel adds to the postmaster's ``cutime`` and ``cstime``.
    """
    ticks = sum(int(f) for f in _stat(postmaster)[11:15])
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            child = _stat(entry.name)
        except OSError:
            continue  # ended meanwhile
        if int(child[1]) == postmaster:
            ticks += int(child[11]) + int(child[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def postmaster_pid(admin: Any) -> int:
    """The postmaster of the (local) server that ``admin`` is connected to."""
    row = admin.execute("SELECT pg_backend_pid()").fetchone()
    return int(_stat(int(row[0]))[1])


def server_pids(admin: Any, login: str, database: str) -> list[int]:
    """The server processes serving ``login``'s connections to ``database``, but ours."""
    rows = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE usename = %s AND datname = %s "
        "AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
        [login, database],
    ).fetchall()
    return [int(pid) for (pid,) in rows]


@contextmanager
def policies_off(url: str) -> Iterator[None]:
    """The owner bypasses row-level security on the store's tables until the block ends."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as owner:
        tables = [
            str(name)
            for (name,) in owner.execute(
                "SELECT c.relname FROM pg_class c WHERE c.relkind = 'r' "
                "AND c.relnamespace = current_schema()::regnamespace "
                "AND c.relforcerowsecurity ORDER BY c.relname"
            ).fetchall()
        ]
        if not tables:
            msg = "no table of this store is held to row-level security; nothing to turn off"
            raise RuntimeError(msg)

        def force(on: bool) -> None:
            word = "FORCE" if on else "NO FORCE"
            for table in tables:
                statement = sql.SQL("ALTER TABLE {} " + word + " ROW LEVEL SECURITY")
                owner.execute(statement.format(sql.Identifier(table)))

        force(False)
        try:
            yield
        finally:
            force(True)


def _phase(
    call: Callable[[int], object], calls: int, servers: Callable[[], list[int]]
) -> dict[str, float]:
    """Per call: wall, client CPU and server CPU in ms, over ``calls`` calls.

    ``servers()``: the server processes serving the client, asked again for each phase.
    """
    pids = servers()
    server0 = sum(process_cpu_s(pid) for pid in pids)
    client0 = time.process_time()
    t0 = time.perf_counter()
    for k in range(calls):
        call(k)
    wall = time.perf_counter() - t0
    client = time.process_time() - client0
    server = sum(process_cpu_s(pid) for pid in pids) - server0
    per = 1000 / calls
    return {
        "wall_ms": wall * per,
        "client_cpu_ms": client * per,
        "server_cpu_ms": server * per,
        "server_processes": len(pids),
    }


def split(
    url: str, scratch: Path, n: int, calls: int, blobs: Path | None = None
) -> dict[str, dict[str, dict[str, float]]]:
    """Fill the empty database at ``url`` with ``n`` versions, then time every phase.

    Returns ``{"policies_on": {phase: figures}, "policies_off": {…}}``. The login of
    ``url`` must own the store's tables (it creates them on the empty database).
    """
    import psycopg

    build(url, scratch / "build", n, 3600.0, blobs)
    client = rw.Client(url, user=USER)
    admin = psycopg.connect(url, autocommit=True)
    row = admin.execute("SELECT current_user, current_database()").fetchone()
    assert row is not None
    login, database = str(row[0]), str(row[1])

    def servers() -> list[int]:
        return server_pids(admin, login, database)

    # Fresh files for every call: identical files would return the version logged before.
    paths = write_files(scratch / "files", 0, WARM_UP + 2 * 2 * calls, "split")
    base = 10**7  # above every number the fill used
    used = 0

    def fresh(count: int) -> list[Path]:
        nonlocal used
        taken = paths[used : used + count]
        used += count
        return taken

    try:
        for k, path in enumerate(fresh(WARM_UP)):
            log_and_link(client, base + k, path)
        out: dict[str, dict[str, dict[str, float]]] = {}
        for mode in ("policies_on", "policies_off"):
            with policies_off(url) if mode == "policies_off" else nullcontext():
                log(f"{mode}: {calls} calls per phase")
                out[mode] = _phases(client, fresh, base + used, calls, servers)
        return out
    finally:
        admin.close()
        client.close()


def _phases(
    client: rw.Client,
    fresh: Callable[[int], list[Path]],
    base: int,
    calls: int,
    servers: Callable[[], list[int]],
) -> dict[str, dict[str, float]]:
    logged: list[Any] = []
    files = fresh(calls)
    both = fresh(calls)
    return {
        "log": _phase(
            lambda k: logged.append(log_version(client, base + k, files[k])), calls, servers
        ),
        "link": _phase(lambda k: link_version(client, base + k, logged[k]), calls, servers),
        "log_link": _phase(
            lambda k: log_and_link(client, base + calls + k, both[k]), calls, servers
        ),
    }


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far, from ``/proc/stat``."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


def scaling(url: str, writers: list[int], calls: int) -> dict[int, dict[str, float]]:
    """Aggregate log + link throughput of ``w`` writer processes at once, for each ``w``.

    Each process logs and links ``calls`` versions (the workload's row 10). Returns per
    ``w``: ``ops_s``, ``failed``, ``cpu_busy_pct`` (the machine's, over the run),
    ``cpu_ms_per_op`` (busy CPU time over acknowledged operations), and the part of it
    that the writer processes (``client_cpu_ms_per_op``, their writes only, listener
    threads included) and the server (``server_cpu_ms_per_op``, every process of it)
    spent.
    """
    import psycopg

    from tests.servers.postgres import wait_for_sessions_to_end

    env = {"PYTHONPATH": str(REPO_ROOT)}
    out: dict[int, dict[str, float]] = {}
    with psycopg.connect(url, autocommit=True) as admin:
        postmaster = postmaster_pid(admin)
        for r, count in enumerate(writers):
            code = WRITER_CODE.format(url=url, base=2 * 10**7 + 10**6 * r, count=calls)
            busy0, total0 = cpu_ticks()
            server0 = server_cpu_s(postmaster)
            result = concurrent_writers(code, count, env=env)
            busy1, total1 = cpu_ticks()
            # Once the writers' sessions have ended, a moment more lets the postmaster
            # reap their backends, so that their CPU time counts as its children's.
            wait_for_sessions_to_end(admin)
            time.sleep(0.2)
            server1 = server_cpu_s(postmaster)
            busy = (busy1 - busy0) / max(total1 - total0, 1)
            cpus = os.cpu_count() or 1
            ok = max(result["ok"], 1)
            out[count] = {
                "ops_s": result["ops_s"],
                "failed": result["failed"],
                "cpu_busy_pct": 100 * busy,
                "cpu_ms_per_op": 1000 * busy * cpus * result["seconds"] / ok,
                "client_cpu_ms_per_op": 1000 * result["cpu_s"] / ok,
                "server_cpu_ms_per_op": 1000 * (server1 - server0) / ok,
            }
            log(f"{count} writers: {result['ops_s']:.1f} ops/s, CPU {100 * busy:.0f}% busy")
    return out


def scaling_table(result: dict[int, dict[str, float]]) -> str:
    """The writers' figures as a Markdown table."""
    lines = [
        "| writer processes | log + link ops/s | CPU busy | CPU per op | of which writers "
        "| of which server |",
        "|---|---|---|---|---|---|",
    ]
    for count, f in sorted(result.items()):
        lines.append(
            f"| {count} | {f['ops_s']:.1f} | {f['cpu_busy_pct']:.0f}% | "
            f"{f['cpu_ms_per_op']:.1f} ms | {f['client_cpu_ms_per_op']:.1f} ms | "
            f"{f['server_cpu_ms_per_op']:.1f} ms |"
        )
    return "\n".join(lines)


def table(result: dict[str, dict[str, dict[str, float]]]) -> str:
    """The figures as a Markdown table, ms per call."""
    lines = [
        "| call | policies | wall | client CPU | server CPU | rest (waits) |",
        "|---|---|---|---|---|---|",
    ]
    for phase in PHASES:
        for mode, word in (("policies_on", "on"), ("policies_off", "off")):
            f = result[mode][phase]
            rest = f["wall_ms"] - f["client_cpu_ms"] - f["server_cpu_ms"]
            lines.append(
                f"| {phase.replace('_', ' + ')} | {word} | {f['wall_ms']:.2f} ms | "
                f"{f['client_cpu_ms']:.2f} ms | {f['server_cpu_ms']:.2f} ms | {rest:.2f} ms |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1000, help="versions in the store before timing")
    p.add_argument("--calls", type=int, default=300, help="calls timed per phase")
    p.add_argument(
        "--writers", type=int, nargs="*", default=[1, 2, 4, 8], help="writer processes at once"
    )
    p.add_argument("--writer-calls", type=int, default=100, help="log + link per writer")
    p.add_argument("--json", type=Path, default=None, help="write the figures here too")
    args = p.parse_args(argv)
    if args.n < 1 or args.calls < 1 or args.writer_calls < 1 or min(args.writers, default=1) < 1:
        p.error("--n, --calls, --writers and --writer-calls must be at least 1")

    import psycopg

    from tests.servers import postgres as postgres_server

    server = postgres_server.start(fsync=True)
    scratch = Path(tempfile.mkdtemp(prefix="bench-split-"))
    try:
        log(f"PostgreSQL on {server.host}:{server.port} (fsync on)")
        with psycopg.connect(server.url(), autocommit=True) as admin:
            admin.execute(f"CREATE ROLE {USER} LOGIN")
            admin.execute(f"CREATE DATABASE split OWNER {USER}")
        url = server.url(USER, "split")
        result = split(url, scratch, args.n, args.calls, scratch / "blobs")
        writers = scaling(url, args.writers, args.writer_calls)
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    report = {
        "n": args.n,
        "calls": args.calls,
        "load_average": os.getloadavg(),
        "cpu_count": os.cpu_count(),
        **result,
        "writers": writers,
    }
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=1))
    print(table(result))
    print()
    print(scaling_table(writers))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
