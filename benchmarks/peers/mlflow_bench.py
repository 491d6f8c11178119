"""The registry workload on the MLflow Model Registry (local SQLite, ``MlflowClient``).

10 registered models; N model versions created round robin with 3 tags each; alias
``champion`` on one version per model. Prints the results as JSON on stdout.

With ``--url postgresql://…`` the registry is that (empty) PostgreSQL database
(``registry_uri``, through psycopg2): the team-server workload. As for ours there, the
reads run first on the store as built, then the timed writes add to it, then
``--writers`` processes create model versions at once (aggregate ops/s; version numbers
checked gap-free afterwards).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.common import (
    N_COLLECTIONS,
    PEAK_RSS_SNIPPET,
    SEARCH_TAG,
    concurrent_writers,
    import_code,
    latencies_ms,
    log,
    parse_args,
    per_op_ms,
    percentile,
    recorder,
    run_fresh,
    version_tags,
)

SEARCH = f"name='m3' and tags.exp='{SEARCH_TAG}'"


def client(db: Path | str):
    from mlflow import MlflowClient  # after logging is configured

    uri = db if isinstance(db, str) else f"sqlite:///{db}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def tags_of(i: int) -> dict[str, str]:
    exp, seed, bench = version_tags(i)
    return {"exp": exp, "seed": seed, bench: "1"}


def create(c, i: int, root: Path) -> None:
    c.create_model_version(f"m{i % N_COLLECTIONS}", source=f"{root}/src/{i}", tags=tags_of(i))


def build(db: Path | str, n: int, root: Path) -> float:
    """Fill a store with n versions; return ms per version."""
    c = client(db)
    for m in range(N_COLLECTIONS):
        c.create_registered_model(f"m{m}")
    t0 = time.perf_counter()
    for i in range(n):
        create(c, i, root)
        if i % 1000 == 999:
            log(f"mlflow build {i + 1}/{n}")
    ms = (time.perf_counter() - t0) * 1000 / max(n, 1)
    for m in range(N_COLLECTIONS):
        # Version numbers start at 1; pick the one in the middle of each model.
        c.set_registered_model_alias(f"m{m}", "champion", str(max(1, n // N_COLLECTIONS // 2)))
    return ms


def write_rep(c, root: Path, args: Any) -> tuple[float, float]:
    """One repetition of the writes on a copy of the store: (create ms/op, alias ms/op)."""
    write_ms, _ = per_op_ms(lambda k: create(c, args.n + k, root), args.sample, args.budget)
    per_model = max(1, args.n // N_COLLECTIONS)  # versions every model has
    alias_ms, _ = per_op_ms(
        lambda k: c.set_registered_model_alias(
            f"m{k % N_COLLECTIONS}", "champion", str(1 + k // N_COLLECTIONS % per_model)
        ),
        min(args.sample, 100),
        args.budget,
    )
    return write_ms, alias_ms


OPEN_CODE = """
import json, time
from mlflow import MlflowClient
t0 = time.perf_counter()
c = MlflowClient(tracking_uri={uri!r}, registry_uri={uri!r})
c.get_model_version_by_alias("m0", "champion")
print(json.dumps({{"s": time.perf_counter() - t0}}))
"""

IMPORT_CODE = import_code("mlflow")

RSS_CODE = (
    PEAK_RSS_SNIPPET.replace("{", "{{").replace("}", "}}")
    + """
import json
from mlflow import MlflowClient
c = MlflowClient(tracking_uri={uri!r}, registry_uri={uri!r})
for k in range(200):
    c.get_model_version_by_alias(f"m{{k % 10}}", "champion")
for k in range(20):
    c.search_model_versions({search!r})
    c.search_model_versions("name='m3'", max_results=50, order_by=["version_number DESC"])
print(json.dumps({{"rss": _peak_rss_mib()}}))
"""
)


def reads(rec, c, args: Any) -> None:
    """Resolve, search and page on the store as it stands."""
    c.get_model_version_by_alias("m0", "champion")
    resolve, p50, p95, page = [], [], [], []
    for _ in range(args.repeat):
        ms, _ = per_op_ms(
            lambda k: c.get_model_version_by_alias(f"m{k % N_COLLECTIONS}", "champion"),
            args.resolve,
            args.budget,
        )
        resolve.append(ms)
        lat = latencies_ms(lambda _k: c.search_model_versions(SEARCH), args.search)
        p50.append(percentile(lat, 50))
        p95.append(percentile(lat, 95))
        ms, _ = per_op_ms(
            lambda k: c.search_model_versions(
                f"name='m{k % N_COLLECTIONS}'",
                max_results=50,
                order_by=["version_number DESC"],
            ),
            args.page,
            args.budget,
        )
        page.append(ms)
    rec.add("resolve_alias", "ms/op", resolve, note="get_model_version_by_alias")
    rec.add("search_p50", "ms", p50, note=SEARCH)
    rec.add("search_p95", "ms", p95, note=SEARCH)
    rec.add("page_50", "ms/op", page, note="search_model_versions max_results=50 newest first")


def fresh(rec, uri: str, args: Any) -> None:
    """Open, import and peak memory, each repetition in a fresh interpreter."""
    env = {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
    opens = [run_fresh(OPEN_CODE.format(uri=uri), env=env)["s"] for _ in range(args.repeat)]
    rec.add("open_s", "s", opens, note="MlflowClient() + first get_model_version_by_alias")
    imports = [run_fresh(IMPORT_CODE, env=env) for _ in range(args.repeat)]
    rec.add("import_s", "s", [i["s"] for i in imports], note="import mlflow")
    rec.add("import_rss_mib", "MiB", [i["rss"] for i in imports])
    code = RSS_CODE.format(uri=uri, search=SEARCH)
    rss = [run_fresh(code, env=env)["rss"] for _ in range(args.repeat)]
    rec.add("peak_rss_mib", "MiB", rss, note="fresh process: open + read workload")


WRITER_CODE = """
import json, logging, sys
logging.getLogger("mlflow").setLevel(logging.WARNING)
from mlflow import MlflowClient
k, base, count = int(sys.argv[1]), {base}, {count}
c = MlflowClient(tracking_uri={uri!r}, registry_uri={uri!r})
c.get_registered_model("m0")
print("ready", flush=True)
sys.stdin.readline()
ok = failed = 0
for j in range(count):
    i = base + j * 100 + k
    tags = {{"exp": f"exp-{{i % 7}}", "seed": f"seed-{{i % 13}}", "bench": "1"}}
    try:
        c.create_model_version(f"m{{(j + k) % 10}}", source=f"/src/{{i}}", tags=tags)
        ok += 1
    except Exception:
        failed += 1
print(json.dumps({{"ok": ok, "failed": failed}}))
"""


def writers(rec, uri: str, args: Any) -> None:
    """Row 10: ``args.writers`` processes create model versions at once."""
    count = max(10, args.sample // 2)
    rates, failures = [], 0
    for r in range(args.repeat):
        code = WRITER_CODE.format(uri=uri, base=args.n + 10**7 * (r + 1), count=count)
        result = concurrent_writers(code, args.writers, env={"PYTHONWARNINGS": "ignore"})
        rates.append(result["ops_s"])
        failures += int(result["failed"])
    c = client(uri)
    gaps = 0
    for m in range(N_COLLECTIONS):
        found = c.search_model_versions(f"name='m{m}'", max_results=100_000)
        numbers = sorted(int(v.version) for v in found)
        gaps += int(numbers != list(range(1, len(numbers) + 1)))
    note = f"{args.writers} processes x {count} create_model_version each; aggregate ops/s"
    rec.add("writers_ops_s", "ops/s", rates, note=note, failed=failures, gaps=gaps)
    if gaps or failures:
        rec.note(f"writers: {failures} calls failed, {gaps} models with gaps")


def server_main(args: Any, rec) -> None:
    """The workload on a PostgreSQL database: build, reads, writes, concurrent writers."""
    uri = args.url
    with tempfile.TemporaryDirectory(prefix="bench-mlflow-") as tmp:
        t0 = time.perf_counter()
        build_ms = build(uri, args.n, Path(tmp))
        rec.set("build_s", time.perf_counter() - t0)
        rec.add("build", "ms/op", [build_ms], note="create_model_version + 3 tags, one by one")
        c = client(uri)
        reads(rec, c, args)
        fresh(rec, uri, args)
        results = [write_rep(c, Path(tmp), args) for _ in range(args.repeat)]
        rec.add("log_link_durable", "ms/op", [w for w, _ in results], note="create + 3 tags")
        rec.add("set_alias", "ms/op", [a for _, a in results], note="set_registered_model_alias")
        writers(rec, uri, args)


def main() -> None:
    args = parse_args(__doc__ or "")
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow  # after logging is configured

    rec = recorder("mlflow", args)
    rec.set("version", mlflow.__version__)
    if args.url:
        server_main(args, rec)
        print(json.dumps(rec.data))
        return
    with tempfile.TemporaryDirectory(prefix="bench-mlflow-") as tmp:
        base = Path(tmp) / "base" / "mlflow.db"
        base.parent.mkdir()
        t0 = time.perf_counter()
        build_ms = build(base, args.n, base.parent)
        rec.set("build_s", time.perf_counter() - t0)
        rec.add("build", "ms/op", [build_ms], note="create_model_version + 3 tags, one by one")
        uri = f"sqlite:///{base}"

        writes, aliases = [], []
        for r in range(args.repeat):
            work = Path(tmp) / f"rep{r}" / "mlflow.db"
            work.parent.mkdir()
            shutil.copy2(base, work)
            write_ms, alias_ms = write_rep(client(work), work.parent, args)
            writes.append(write_ms)
            aliases.append(alias_ms)
            shutil.rmtree(work.parent)
        rec.add("log_link_durable", "ms/op", writes, note="create_model_version + 3 tags")
        rec.add("set_alias", "ms/op", aliases, note="set_registered_model_alias")

        reads(rec, client(base), args)
        fresh(rec, uri, args)
    print(json.dumps(rec.data))
    log(f"mlflow N={args.n} done; median write {statistics.median(writes):.3f} ms")


if __name__ == "__main__":
    main()
