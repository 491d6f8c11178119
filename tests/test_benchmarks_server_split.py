"""The split of a server write's time: every phase runs and writes, the policies come back.

A benchmark, not a test of speed: nothing here compares a timing with a limit.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

import registry_widget as rw
from benchmarks.ours import USER
from benchmarks.server_split import (
    PHASES,
    WARM_UP,
    cpu_ticks,
    policies_off,
    postmaster_pid,
    process_cpu_s,
    scaling,
    scaling_table,
    server_cpu_s,
    split,
    table,
)
from tests.conftest import PgCluster

FILL, CALLS = 20, 4


@pytest.fixture
def pg_schema_owner() -> str:
    """The benchmark's login opens the store first."""
    return USER


def _count(url: str, query: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


def test_split_times_each_phase_with_and_without_the_policies(
    postgres: PgCluster, pg_schema: str, tmp_path: Path
) -> None:
    url = postgres.url(USER, pg_schema)
    result = split(url, tmp_path / "scratch", FILL, CALLS, tmp_path / "blobs")

    assert set(result) == {"policies_on", "policies_off"}
    for figures in result.values():
        assert set(figures) == set(PHASES)
        for f in figures.values():
            assert f["wall_ms"] > 0
            assert f["client_cpu_ms"] >= 0
            assert f["server_cpu_ms"] >= 0
            assert f["server_processes"] >= 1  # the client's connection, at least
    # Every timed call wrote: the fill, the warm-up, then per mode CALLS logs (linked in
    # the next phase) and CALLS log + link.
    written = FILL + WARM_UP + 2 * 2 * CALLS
    assert _count(url, "SELECT count(*) FROM artifacts") == written
    assert _count(url, "SELECT count(*) FROM links") == written
    # The policies hold the owner again.
    query = (
        "SELECT count(*) FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
        "AND relkind = 'r' AND relrowsecurity AND NOT relforcerowsecurity"
    )
    assert _count(url, query) == 0
    assert table(result).count("\n") == 1 + 2 * len(PHASES)


def test_policies_come_back_after_an_error(
    postgres: PgCluster, pg_schema: str, tmp_path: Path
) -> None:
    url = postgres.url(USER, pg_schema)
    rw.Client(url, user=USER, blobs=tmp_path).close()  # creates the tables, held to the policies
    forced = (
        "SELECT count(*) FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
        "AND relkind = 'r' AND relforcerowsecurity"
    )
    held = _count(url, forced)
    assert held > 0
    try:
        with policies_off(url):
            assert _count(url, forced) == 0
            raise KeyError("stop")
    except KeyError:
        pass
    assert _count(url, forced) == held


def test_process_cpu_counts_this_process() -> None:
    before = process_cpu_s(os.getpid())
    end = time.process_time() + 0.05
    while time.process_time() < end:
        pass
    assert process_cpu_s(os.getpid()) >= before + 0.03


def test_scaling_runs_each_number_of_writers(
    postgres: PgCluster, pg_schema: str, tmp_path: Path
) -> None:
    url = postgres.url(USER, pg_schema)
    split(url, tmp_path / "scratch", FILL, 1, tmp_path / "blobs")
    before = _count(url, "SELECT count(*) FROM links")
    result = scaling(url, [1, 2], 3)

    assert sorted(result) == [1, 2]
    for f in result.values():
        assert f["ops_s"] > 0
        assert f["failed"] == 0
        assert 0 <= f["cpu_busy_pct"] <= 100
        assert f["cpu_ms_per_op"] >= 0
        # Each writer measured its writes; the server's count includes ended backends.
        assert f["client_cpu_ms_per_op"] > 0
        assert f["server_cpu_ms_per_op"] > 0
    assert _count(url, "SELECT count(*) FROM links") == before + (1 + 2) * 3
    # Numbers stay gap-free in every collection the writers wrote to.
    gaps = _count(
        url,
        "SELECT count(*) FROM (SELECT collection_id FROM links GROUP BY collection_id "
        "HAVING max(number) + 1 <> count(*)) AS g",
    )
    assert gaps == 0
    assert scaling_table(result).count("\n") == 1 + 2


def test_server_cpu_counts_children_that_ended() -> None:
    # This process stands in for the postmaster: a child it has reaped still counts.
    before = server_cpu_s(os.getpid())
    burn = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass"
    subprocess.run([sys.executable, "-c", burn], check=True)
    assert server_cpu_s(os.getpid()) >= before + 0.25


def test_postmaster_is_the_servers(postgres: PgCluster) -> None:
    assert postmaster_pid(postgres.admin) == postgres.server.pid()


def test_cpu_ticks_grow() -> None:
    busy0, total0 = cpu_ticks()
    end = time.process_time() + 0.05
    while time.process_time() < end:
        pass
    busy1, total1 = cpu_ticks()
    assert busy1 > busy0
    assert total1 - total0 >= busy1 - busy0
