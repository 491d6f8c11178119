"""The team-server benchmark's bulk fill: the loaded store answers as the API-built one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import registry_widget as rw
from benchmarks.ours import STORE, USER, build, expected_hits, search
from benchmarks.report import OURS
from benchmarks.server_fill import FillMismatchError, bulk_fill, check_same, load_rows, rows_of
from tests.conftest import PgCluster

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def pg_schema_owner() -> str:
    """The benchmark's login opens the store first."""
    return USER


def test_bulk_fill_answers_as_the_file_store(
    postgres: PgCluster, pg_schema: str, tmp_path: Path
) -> None:
    url = postgres.url(USER, pg_schema)
    ms, built, load_s = bulk_fill(url, tmp_path / "scratch", 60, 600.0, tmp_path / "blobs")
    assert (built, ms > 0, load_s > 0) == (60, True, True)
    client = rw.Client(url, user=USER)
    assert len(search(client)) == expected_hits(60) > 0
    # Written after the load, through the API: the identities are past the loaded ids.
    (tmp_path / "after.bin").write_bytes(b"after the load")
    version = client.log_artifact("model-0", type="model", files=tmp_path / "after.bin")
    link = client.link(version, "Bench/c0", aliases=("fresh",))
    assert (version.version, link.version) == ("v6", "v6")
    assert client.use("Bench/c0:fresh").artifact.digest == version.digest


def test_bulk_load_that_differs_is_refused(
    postgres: PgCluster, pg_schema: str, tmp_path: Path
) -> None:
    url = postgres.url(USER, pg_schema)
    source = tmp_path / "file" / STORE
    source.parent.mkdir(parents=True)
    build(source, tmp_path / "scratch", 40, 600.0, tmp_path / "blobs")
    rw.Client(url, user=USER, blobs=tmp_path / "blobs").close()
    file_client = rw.Client(str(source), user=USER, blobs=tmp_path / "blobs")
    tables = rows_of(file_client)
    # One version's metadata changed on the way: a filtered read must tell.
    tables["artifacts"] = [
        (i, {**doc, "metadata": {**doc["metadata"], "acc": 0.0}}) for i, doc in tables["artifacts"]
    ]
    load_rows(url, tables)
    with pytest.raises(FillMismatchError, match="the file store answers"):
        check_same(file_client, rw.Client(url, user=USER))


@pytest.mark.slow
def test_server_run_with_bulk_fill_reports_reads(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    cmd = [sys.executable, "-m", "benchmarks.run", "--server", "--quick", "--fill", "bulk"]
    cmd += ["--reads-only", "--peer-max-n", "0", "--json", str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    [run] = json.loads(out.read_text())["runs"]
    assert run["system"] == OURS
    assert [note for note in run["notes"] if not note.startswith("filled in bulk")] == []
    for op in ("resolve_alias", "search_p50", "search_p95", "page_50", "open_s", "peak_rss_mib"):
        assert run["ops"][op]["min"] > 0, op
    assert "log_link_durable" not in run["ops"]
