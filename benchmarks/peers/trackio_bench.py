"""The registry workload on the Trackio registry (local SQLite under TRACKIO_DIR).

One registry ``R`` with 10 collections of type ``model``; N artifact versions (a small
unique file and metadata each, logged from one run) linked round robin; alias
``champion`` on one version per collection. Trackio artifacts carry no tags and its
registry has no filtered search, so those figures are reported as not measurable.
Prints the results as JSON on stdout (Trackio's own messages go to stderr).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.common import (
    N_COLLECTIONS,
    PEAK_RSS_SNIPPET,
    import_code,
    log,
    parse_args,
    per_op_ms,
    recorder,
    run_fresh,
    version_bytes,
    version_metadata,
)

REGISTRY = "R"


def log_version(trackio: Any, run: Any, scratch: Path, i: int) -> Any:
    path = scratch / "weights.bin"
    path.write_bytes(version_bytes(i, "trackio"))
    art = trackio.Artifact(
        name=f"model-{i % N_COLLECTIONS}", type="model", metadata=version_metadata(i)
    )
    art.add_file(path)
    return run.log_artifact(art)


def link(run: Any, art: Any, i: int, aliases: list[str] | None = None) -> Any:
    return run.link_artifact(art, f"registry-{REGISTRY}/c{i % N_COLLECTIONS}", aliases=aliases)


def resolve(reg: Any, coll: str, alias: str) -> dict[str, Any]:
    """The read-only path to a linked version: the collection, then the alias."""
    c = reg.collection(coll)
    return next(link for link in c.links if alias in link["aliases"])


def build(trackio: Any, scratch: Path, n: int) -> float:
    """Fill the registry with n linked versions; return ms per version (log + link)."""
    reg = trackio.Api().create_registry(REGISTRY)
    for c in range(N_COLLECTIONS):
        reg.create_collection(f"c{c}", artifact_type="model")
    run = trackio.init(project="bench", name="build", embed=False)
    champion = max(0, n // 2 - n // 2 % N_COLLECTIONS)
    t0 = time.perf_counter()
    for i in range(n):
        art = log_version(trackio, run, scratch, i)
        is_champion = champion <= i < champion + N_COLLECTIONS
        link(run, art, i, ["champion"] if is_champion else None)
        if i % 1000 == 999:
            log(f"trackio build {i + 1}/{n}")
    ms = (time.perf_counter() - t0) * 1000 / max(n, 1)
    trackio.finish()
    return ms


OPEN_CODE = """
import json, time
import trackio
t0 = time.perf_counter()
reg = trackio.Api().registry("R")
c = reg.collection("c0")
next(link for link in c.links if "champion" in link["aliases"])
print(json.dumps({"s": time.perf_counter() - t0}))
"""

IMPORT_CODE = import_code("trackio")

RSS_CODE = (
    PEAK_RSS_SNIPPET
    + """
import json
import trackio
reg = trackio.Api().registry("R")
for k in range(200):
    c = reg.collection(f"c{k % 10}")
    next(link for link in c.links if "champion" in link["aliases"])
for k in range(20):
    reg.collections()
print(json.dumps({"rss": _peak_rss_mib()}))
"""
)


def measure(args: Any, rec: Any, trackio: Any, tmp: Path) -> None:
    home = Path(os.environ["TRACKIO_DIR"])
    scratch = tmp / "scratch"
    scratch.mkdir()
    t0 = time.perf_counter()
    build_ms = build(trackio, scratch, args.n)
    rec.set("build_s", time.perf_counter() - t0)
    rec.add("build", "ms/op", [build_ms], note="log_artifact + link_artifact, one by one")
    snapshot = tmp / "snapshot"
    shutil.copytree(home, snapshot)

    logs, links, pairs, aliases = [], [], [], []
    for r in range(args.repeat):
        shutil.rmtree(home)
        shutil.copytree(snapshot, home)
        run = trackio.init(project="bench", name=f"rep{r}", embed=False)
        base = args.n + r * args.sample
        logged: list[Any] = []
        ms, done = per_op_ms(
            lambda k: logged.append(log_version(trackio, run, scratch, base + k)),  # noqa: B023
            args.sample,
            args.budget,
        )
        logs.append(ms)
        ms, _ = per_op_ms(lambda k: link(run, logged[k], base + k), done, args.budget)  # noqa: B023
        links.append(ms)
        ms, _ = per_op_ms(
            lambda k: link(run, log_version(trackio, run, scratch, base + done + k), base + k),  # noqa: B023
            args.sample,
            args.budget,
        )
        pairs.append(ms)
        ms, _ = per_op_ms(
            lambda k: link(run, logged[k % done], base + k % done, ["champion"]),  # noqa: B023
            min(args.sample, 100, done),
            args.budget,
        )
        aliases.append(ms)
        trackio.finish()
    shutil.rmtree(home)
    shutil.copytree(snapshot, home)
    rec.add("log_artifact", "ms/op", logs, note="run.log_artifact")
    rec.add("link_artifact", "ms/op", links, note="run.link_artifact")
    rec.add("log_link_durable", "ms/op", pairs, note="run.log_artifact + run.link_artifact")
    rec.add("set_alias", "ms/op", aliases, note="run.link_artifact(linked version, aliases=...)")

    reg = trackio.Api().registry(REGISTRY)
    resolves, pages, colls = [], [], []
    for _ in range(args.repeat):
        ms, _ = per_op_ms(
            lambda k: resolve(reg, f"c{k % N_COLLECTIONS}", "champion"), args.resolve, args.budget
        )
        resolves.append(ms)
        ms, _ = per_op_ms(
            lambda k: reg.collection(f"c{k % N_COLLECTIONS}").links[:50], args.page, args.budget
        )
        pages.append(ms)
        ms, _ = per_op_ms(lambda _k: reg.collections(), 20, args.budget)
        colls.append(ms)
    rec.add("resolve_alias", "ms/op", resolves, note="Registry.collection + alias (read-only)")
    rec.add("page_50", "ms/op", pages, note="Registry.collection(...).links (no paging API)")
    rec.add("collections", "ms/op", colls, note="Registry.collections()")
    rec.note("search: Trackio's registry has no filtered search and artifacts carry no tags")
    rec.note("log_link_batched: Trackio has no batch API")

    env = {"TRACKIO_DIR": str(home)}
    opens = [run_fresh(OPEN_CODE, env=env)["s"] for _ in range(args.repeat)]
    rec.add("open_s", "s", opens, note="Api().registry + first resolve")
    imports = [run_fresh(IMPORT_CODE, env=env) for _ in range(args.repeat)]
    rec.add("import_s", "s", [i["s"] for i in imports], note="import trackio")
    rec.add("import_rss_mib", "MiB", [i["rss"] for i in imports])
    rss = [run_fresh(RSS_CODE, env=env)["rss"] for _ in range(args.repeat)]
    rec.add("peak_rss_mib", "MiB", rss, note="fresh process: open + read workload")


def main() -> None:
    args = parse_args(__doc__ or "")
    with tempfile.TemporaryDirectory(prefix="bench-trackio-") as tmp:
        os.environ["TRACKIO_DIR"] = str(Path(tmp) / "home")
        with contextlib.redirect_stdout(sys.stderr):
            import trackio  # TRACKIO_DIR must be set first

            rec = recorder("trackio", args)
            rec.set("version", trackio.__version__)
            measure(args, rec, trackio, Path(tmp))
    print(json.dumps(rec.data))


if __name__ == "__main__":
    main()
