"""The registry workload on registry_widget, through its public API only.

Run by the harness once per N in its own process (``python -m benchmarks.ours --n N``),
so that a slow N can be stopped by a time limit without losing the other figures.

With ``--url postgresql://…`` the store is that (empty) PostgreSQL database, blobs in a
folder: the team-server workload. A database cannot be copied per repetition as a file
can, so there the reads run first on the store as built, then the timed writes add to
it, then ``--writers`` processes log and link at once (aggregate ops/s, numbers checked
gap-free afterwards).
"""

from __future__ import annotations

import gc
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import registry_widget as rw
from benchmarks.common import (
    N_COLLECTIONS,
    PEAK_RSS_SNIPPET,
    SEARCH_ACC,
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
    version_bytes,
    version_metadata,
    version_tags,
)

USER = "bench"
REGISTRY = "Bench"
STORE = "registry.json"
CHUNK = 5000  # versions per batch while building
SEARCH_FILTER: dict[str, Any] = {
    "$and": [
        {"type": "model"},
        {"tag": SEARCH_TAG},
        {"metadata.acc": {"$gt": SEARCH_ACC}},
    ]
}


# Links and artifact versions are handles that read the store when a field is asked for,
# while the peers return filled-in records; so every read below also reads the fields a
# caller would use: what a resolve points at, the columns of a page, each hit's path.
def resolve(client: rw.Client, k: int) -> str:
    """Resolve the champion of collection k % 10 to the content it names."""
    link = client.use(f"{REGISTRY}/c{k % N_COLLECTIONS}:champion")
    return f"{link.path} {link.artifact.digest}"


def search(client: rw.Client) -> list[str]:
    """The workload's filtered search, as the paths of the hits."""
    return [link.path for link in client.versions(filter=SEARCH_FILTER)]


def page(collection: Any) -> list[tuple[Any, ...]]:
    """The newest 50 versions of a collection, with the columns of a listing."""
    return [
        (link.version, link.aliases, link.created_at, link.metadata)
        for link in collection.versions(limit=50, offset=0)
    ]


def champion_index(n: int) -> int:
    """First of the N_COLLECTIONS consecutive versions (one per collection) named champion."""
    return max(0, n // 2 - n // 2 % N_COLLECTIONS)


def expected_hits(n: int) -> int:
    """How many versions the search filter must return at N."""
    return sum(
        1
        for i in range(n)
        if SEARCH_TAG in version_tags(i) and version_metadata(i)["acc"] > SEARCH_ACC
    )


def write_files(folder: Path, start: int, stop: int, salt: str = "") -> list[Path]:
    """One small unique file per version, written before the timed part."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, stop):
        path = folder / f"w{i}.bin"
        path.write_bytes(version_bytes(i, salt))
        paths.append(path)
    return paths


def log_version(client: rw.Client, i: int, path: Path) -> Any:
    """Log the i-th version (its artifact name round robin)."""
    return client.log_artifact(
        f"model-{i % N_COLLECTIONS}",
        type="model",
        files=path,
        metadata=version_metadata(i),
        tags=version_tags(i),
    )


def link_version(client: rw.Client, i: int, version: Any, aliases: tuple[str, ...] = ()) -> Any:
    """Link the i-th version into its collection (round robin)."""
    return client.link(version, f"{REGISTRY}/c{i % N_COLLECTIONS}", aliases=aliases)


def log_and_link(client: rw.Client, i: int, path: Path, aliases: tuple[str, ...] = ()) -> Any:
    """Log the i-th version and link it into its collection."""
    return link_version(client, i, log_version(client, i, path), aliases)


def build(
    store: Path | str, scratch: Path, n: int, budget_s: float, blobs: Path | None = None
) -> tuple[float, int]:
    """Fill a new store with n linked versions in batches; return (ms/version, built)."""
    client = rw.Client(str(store), user=USER, blobs=blobs)
    registry = client.create_registry(REGISTRY, description="benchmark workload")
    for c in range(N_COLLECTIONS):
        registry.create_collection(f"c{c}", type="model")
    champion = champion_index(n)
    t0 = time.perf_counter()
    built = 0
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        paths = write_files(scratch / "build", start, stop)
        t_chunk = time.perf_counter()
        with client.batch():
            for i, path in zip(range(start, stop), paths, strict=True):
                aliases = ("champion",) if champion <= i < champion + N_COLLECTIONS else ()
                log_and_link(client, i, path, aliases)
        built = stop
        log(f"ours build {stop}/{n} (chunk {time.perf_counter() - t_chunk:.1f} s)")
        shutil.rmtree(scratch / "build")
        if time.perf_counter() - t0 > budget_s and stop < n:
            break
    ms = (time.perf_counter() - t0) * 1000 / max(built, 1)
    # Leave the store at rest, as one filled commit by commit would be: its journal folded
    # into the snapshot. Otherwise the first timed writes would pay for folding the whole
    # bulk build, a cost a growing store spreads over a quarter of its size in commits.
    checkpoint = getattr(client.store, "checkpoint", None)
    if checkpoint is not None:  # a server store has no journal to fold
        checkpoint()
    return ms, built


def write_rep(store: Path | str, scratch: Path, args: Any, rep: int) -> dict[str, float]:
    """One repetition of the writes on a copy of the store (ops 1 and 2, and set_alias)."""
    client = rw.Client(str(store), user=USER)
    base = args.n + rep * 3 * args.sample
    durable = write_files(scratch / "durable", base, base + args.sample, "d")
    links: list[Any] = []
    ms_durable, done = per_op_ms(
        lambda k: links.append(log_and_link(client, base + k, durable[k])),
        args.sample,
        args.budget,
    )
    batched = write_files(scratch / "batched", base, base + args.sample, "b")
    t0 = time.perf_counter()
    with client.batch():
        _, done_b = per_op_ms(
            lambda k: log_and_link(client, base + args.sample + k, batched[k]),
            args.sample,
            args.budget,
        )
    ms_batched = (time.perf_counter() - t0) * 1000 / done_b
    count = min(done, 100)
    ms_alias, _ = per_op_ms(lambda k: links[k % count].set_alias("champion"), count, args.budget)
    shutil.rmtree(scratch / "durable")
    shutil.rmtree(scratch / "batched")
    return {"durable": ms_durable, "batched": ms_batched, "alias": ms_alias}


OPEN_CODE = """
import json, time
import registry_widget as rw
t0 = time.perf_counter()
client = rw.Client({path!r}, user="bench")
link = client.use("Bench/c0:champion")
link.artifact.digest
print(json.dumps({{"s": time.perf_counter() - t0}}))
"""

IMPORT_CODE = import_code("registry_widget")

RSS_CODE = (
    PEAK_RSS_SNIPPET.replace("{", "{{").replace("}", "}}")
    + """
import json
import registry_widget as rw
client = rw.Client({path!r}, user="bench")
registry = client.registry("Bench")
for k in range(200):
    client.use(f"Bench/c{{k % 10}}:champion").artifact.digest
for k in range(20):
    [link.path for link in client.versions(filter={search!r})]
    coll = registry.collection(f"c{{k % 10}}")
    [(v.version, v.aliases, v.metadata) for v in coll.versions(limit=50)]
print(json.dumps({{"rss": _peak_rss_mib()}}))
"""
)


WRITER_CODE = """
import json, shutil, sys, tempfile, time
from pathlib import Path
import registry_widget as rw
from benchmarks.common import version_bytes
from benchmarks.ours import log_and_link
k, base, count = int(sys.argv[1]), {base}, {count}
client = rw.Client({url!r}, user="bench")
folder = Path(tempfile.mkdtemp(prefix="bench-writer-"))
paths = []
for j in range(count):
    path = folder / f"{{j}}.bin"
    path.write_bytes(version_bytes(base + j, f"p{{k}}-"))
    paths.append(path)
print("ready", flush=True)
sys.stdin.readline()
ok = failed = 0
cpu = time.process_time()
for j, path in enumerate(paths):
    try:
        log_and_link(client, j + k, path)
        ok += 1
    except rw.RegistryError:
        failed += 1
cpu = time.process_time() - cpu
shutil.rmtree(folder)
print(json.dumps({{"ok": ok, "failed": failed, "cpu_s": cpu}}))
"""


def writers_reps(rec: Any, url: str, args: Any) -> None:
    """Row 10: ``args.writers`` processes log and link at once; numbers stay gap-free."""
    env = {"PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    count = max(10, args.sample // 2)
    rates, failures = [], 0
    for r in range(args.repeat):
        code = WRITER_CODE.format(url=url, base=args.n + 10**7 * (r + 1), count=count)
        result = concurrent_writers(code, args.writers, env=env)
        rates.append(result["ops_s"])
        failures += int(result["failed"])
    client = rw.Client(url, user=USER)
    registry = client.registry(REGISTRY)
    gaps = 0
    for c in range(N_COLLECTIONS):
        numbers = sorted(link.index for link in registry.collection(f"c{c}").versions())
        gaps += int(numbers != list(range(len(numbers))))
    note = f"{args.writers} processes x {count} log+link each; aggregate acknowledged ops/s"
    rec.add("writers_ops_s", "ops/s", rates, note=note, failed=failures, gaps=gaps)
    if gaps or failures:
        rec.note(f"writers: {failures} calls failed, {gaps} collections with gaps")


def read_reps(rec: Any, store: Path | str, args: Any) -> None:
    """Ops 3 to 5 on the store as built."""
    client = rw.Client(str(store), user=USER)
    registry = client.registry(REGISTRY)
    collections = [registry.collection(f"c{c}") for c in range(N_COLLECTIONS)]
    hits = len(search(client))
    want = expected_hits(args.n)
    if hits != want:
        rec.note(f"search returned {hits} versions, the workload has {want} matches")
    resolves, p50, p95, pages = [], [], [], []
    for _ in range(args.repeat):
        ms, _ = per_op_ms(lambda k: resolve(client, k), args.resolve, args.budget)
        resolves.append(ms)
        lat = latencies_ms(lambda _k: search(client), args.search)
        p50.append(percentile(lat, 50))
        p95.append(percentile(lat, 95))
        ms, _ = per_op_ms(lambda k: page(collections[k % N_COLLECTIONS]), args.page, args.budget)
        pages.append(ms)
    rec.add("resolve_alias", "ms/op", resolves, note="client.use('Bench/cK:champion') + digest")
    rec.add(
        "search_p50", "ms", p50, note="client.versions(filter=type+tag+metadata.acc>x)", hits=hits
    )
    rec.add(
        "search_p95", "ms", p95, note="client.versions(filter=type+tag+metadata.acc>x)", hits=hits
    )
    rec.add("page_50", "ms/op", pages, note="collection.versions(limit=50) + row fields")


def fresh_reps(rec: Any, store: Path | str, args: Any) -> None:
    """Ops 6 to 8, each repetition in a fresh interpreter."""
    env = {"PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    path = str(store)
    opens = [run_fresh(OPEN_CODE.format(path=path), env=env)["s"] for _ in range(args.repeat)]
    rec.add("open_s", "s", opens, note="rw.Client(path) + first use()")
    imports = [run_fresh(IMPORT_CODE, env=env) for _ in range(args.repeat)]
    rec.add("import_s", "s", [i["s"] for i in imports], note="import registry_widget")
    rec.add("import_rss_mib", "MiB", [i["rss"] for i in imports])
    code = RSS_CODE.format(path=path, search=SEARCH_FILTER)
    rss = [run_fresh(code, env=env)["rss"] for _ in range(args.repeat)]
    rec.add("peak_rss_mib", "MiB", rss, note="fresh process: open + read workload")


def run_cycle(client: rw.Client, i: int, path: Path) -> Any:
    """One run: start, use a version of the store, log and link its output, finish."""
    with client.start_run("bench-run", config={"lr": 1e-3, "i": i}) as run:
        run.use(f"{REGISTRY}/c{i % N_COLLECTIONS}:champion")
        version = run.log_artifact(
            f"run-output-{i % N_COLLECTIONS}", type="model", files=path, metadata={"i": i}
        )
        run.summary["acc"] = version_metadata(i)["acc"]
        run.link(version, f"{REGISTRY}/c{i % N_COLLECTIONS}")
    return run


def build_runs(client: rw.Client, n: int) -> None:
    """Fill the store with n finished runs, each using one of its versions, in batches."""
    for start in range(0, n, CHUNK):
        with client.batch():
            for i in range(start, min(n, start + CHUNK)):
                with client.start_run("background", config={"i": i}) as run:
                    run.use(f"model-{i % N_COLLECTIONS}:v{i // N_COLLECTIONS}")
        log(f"ours runs {min(n, start + CHUNK)}/{n}")
    client.store.checkpoint()


def chain(client: rw.Client, scratch: Path) -> rw.ArtifactVersion:
    """A 3-hop chain, dataset → run → model → run → model; returns the last model."""
    paths = write_files(scratch / "chain", 0, 3, "chain")
    dataset = client.log_artifact("chain-data", type="dataset", files=paths[0])
    with client.start_run("chain-train") as train:
        train.use(dataset)
        model = train.log_artifact("chain-model", type="model", files=paths[1])
    with client.start_run("chain-tune") as tune:
        tune.use(model)
        tuned = tune.log_artifact("chain-tuned", type="model", files=paths[2])
    shutil.rmtree(scratch / "chain")
    return tuned


def run_reps(rec: Any, base: Path, root: Path, args: Any) -> None:
    """Runs at N: a durable run cycle, and the lineage of a 3-hop chain, on a copy."""
    work = root / "runs"
    shutil.copytree(base, work)
    client = rw.Client(str(work / STORE), user=USER)
    build_runs(client, args.n)
    tuned = chain(client, root / "scratch")
    nodes = len(tuned.lineage(upstream=4, downstream=0).nodes)
    if nodes != 5:
        rec.note(f"the lineage of the 3-hop chain has {nodes} nodes, not 5")
    cycles, graphs = [], []
    for r in range(args.repeat):
        start = 2 * args.n + r * args.sample
        paths = write_files(root / "scratch" / "runs", start, start + args.sample, "r")
        ms, _ = per_op_ms(
            lambda k, start=start, paths=paths: run_cycle(client, start + k, paths[k]),
            args.sample,
            args.budget,
        )
        cycles.append(ms)
        shutil.rmtree(root / "scratch" / "runs")
        ms, _ = per_op_ms(
            lambda _k: tuned.lineage(upstream=4, downstream=0).nodes, args.page, args.budget
        )
        graphs.append(ms)
    rec.add(
        "run_cycle_durable",
        "ms/op",
        cycles,
        note="start_run + use + log_artifact + summary + link + finish, durable",
        runs=args.n,
    )
    rec.add(
        "lineage_3hop",
        "ms/op",
        graphs,
        note="lineage(upstream=4) of dataset → run → model → run → model",
        runs=args.n,
    )
    shutil.rmtree(work)


def server_main(args: Any, rec: Any) -> None:
    """The workload on a PostgreSQL database: build, reads, writes, concurrent writers."""
    url = args.url
    with tempfile.TemporaryDirectory(prefix="bench-ours-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        if args.fill == "bulk":
            from benchmarks.server_fill import bulk_fill

            build_ms, built, load_s = bulk_fill(
                url, root / "scratch", args.n, args.build_budget, root / "blobs"
            )
            rec.set("load_s", load_s)
            note = f"log + link in batches of {CHUNK} into a file store, then loaded in bulk"
            rec.note(f"filled in bulk: file store built by the API, loaded in {load_s:.1f} s")
        else:
            blobs = root / "blobs"
            build_ms, built = build(url, root / "scratch", args.n, args.build_budget, blobs)
            note = f"log + link in batches of {CHUNK}"
        rec.set("build_s", time.perf_counter() - t0)
        rec.add("build", "ms/op", [build_ms], note=note)
        if built < args.n:
            rec.note(f"build stopped after {built} of {args.n} versions (budget)")
            args.n = built
            rec.set("n_built", built)
        read_reps(rec, url, args)
        fresh_reps(rec, url, args)
        if args.reads_only:
            return
        reps = [write_rep(url, root / "scratch", args, r) for r in range(args.repeat)]
        rec.add("log_link_durable", "ms/op", [r["durable"] for r in reps], note="log + link")
        rec.add("log_link_batched", "ms/op", [r["batched"] for r in reps], note="in one batch")
        rec.add("set_alias", "ms/op", [r["alias"] for r in reps], note="link.set_alias, durable")
        writers_reps(rec, url, args)


def main() -> None:
    args = parse_args(__doc__ or "")
    rec = recorder("registry_widget", args)
    if args.url:
        server_main(args, rec)
        json.dump(rec.data, sys.stdout)
        print()
        return
    with tempfile.TemporaryDirectory(prefix="bench-ours-") as tmp:
        root = Path(tmp)
        base = root / "base"
        base.mkdir()
        store = base / STORE
        t0 = time.perf_counter()
        build_ms, built = build(store, root / "scratch", args.n, args.build_budget)
        rec.set("build_s", time.perf_counter() - t0)
        rec.add("build", "ms/op", [build_ms], note=f"log + link in batches of {CHUNK}")
        if built < args.n:
            rec.note(f"build stopped after {built} of {args.n} versions (budget)")
            args.n = built
            rec.set("n_built", built)
        gc.collect()
        rec.set("store_bytes", sum(f.stat().st_size for f in base.rglob("*") if f.is_file()))

        reps = []
        for r in range(args.repeat):
            work = root / f"rep{r}"
            shutil.copytree(base, work)
            reps.append(write_rep(work / STORE, root / "scratch", args, r))
            gc.collect()
            shutil.rmtree(work)
        rec.add("log_link_durable", "ms/op", [r["durable"] for r in reps], note="log + link")
        rec.add("log_link_batched", "ms/op", [r["batched"] for r in reps], note="in one batch")
        rec.add("set_alias", "ms/op", [r["alias"] for r in reps], note="link.set_alias, durable")

        read_reps(rec, store, args)
        fresh_reps(rec, store, args)
        run_reps(rec, base, root, args)
    json.dump(rec.data, sys.stdout)
    print()


if __name__ == "__main__":
    main()
