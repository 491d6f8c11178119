"""Targets from BENCHMARKS.md, and the tables the harness prints."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

OURS = "registry_widget"
PEERS = ("mlflow", "trackio")

# Display order, and which figures compare across systems (lower is better for all).
OPS = (
    "log_link_durable",
    "log_link_batched",
    "set_alias",
    "resolve_alias",
    "search_p50",
    "search_p95",
    "page_50",
    "open_s",
    "import_s",
    "import_rss_mib",
    "peak_rss_mib",
    "build",
    "log_artifact",
    "link_artifact",
    "collections",
    "run_cycle_durable",
    "lineage_3hop",
    "writers_ops_s",
)
# Every figure our workload produces (the smoke test checks they are all there).
OURS_OPS = (
    "build",
    "log_link_durable",
    "log_link_batched",
    "set_alias",
    "resolve_alias",
    "search_p50",
    "search_p95",
    "page_50",
    "open_s",
    "import_s",
    "import_rss_mib",
    "peak_rss_mib",
    "run_cycle_durable",
    "lineage_3hop",
)
SHARED = (
    "log_link_durable",
    "set_alias",
    "resolve_alias",
    "search_p50",
    "search_p95",
    "page_50",
    "open_s",
    "import_s",
    "peak_rss_mib",
    "writers_ops_s",
)
# Figures where more is better (throughput): their ratio is ours / the peer's.
HIGHER_IS_BETTER = frozenset({"writers_ops_s"})

TARGETS: dict[str, Callable[[int], float]] = {
    "log_link_durable": lambda _n: 0.5,
    "log_link_batched": lambda _n: 0.05,
    "resolve_alias": lambda _n: 0.02,
    "search_p95": lambda n: 5.0 if n <= 10_000 else 50.0,
    "page_50": lambda _n: 1.0,
    "open_s": lambda n: 0.3 if n <= 10_000 else 2.0,
    "import_s": lambda _n: 0.15,
    "peak_rss_mib": lambda _n: 150.0,
}

# Minimum speed-up over a peer (peer figure / ours); None for N means every N.
RATIO_TARGETS: dict[tuple[str, str], tuple[float, int | None]] = {
    ("log_link_durable", "mlflow"): (8.0, None),
    ("log_link_durable", "trackio"): (5.0, None),
    ("resolve_alias", "mlflow"): (90.0, None),
    ("resolve_alias", "trackio"): (20.0, None),
    ("search_p95", "mlflow"): (25.0, 5_000),
}
SCALING_TARGET = 1.5  # durable write cost at the largest N over its cost at 1k

# The same workload on a team server (PostgreSQL, both systems on one server): BENCHMARKS.md
# sets ratios only, against MLflow's registry on that server.
SERVER_RATIO_TARGETS: dict[tuple[str, str], tuple[float, int | None]] = {
    ("log_link_durable", "mlflow"): (3.0, None),
    ("writers_ops_s", "mlflow"): (3.0, None),
    ("resolve_alias", "mlflow"): (20.0, None),
    ("search_p95", "mlflow"): (10.0, None),
}
SERVER_PEERS = ("mlflow",)
RSS_SCALING_TARGET = 1.2  # on a server: client peak memory at the largest N over at 1k


def fmt(value: float | None) -> str:
    """A figure with four significant digits; '-' when missing."""
    if value is None:
        return "-"
    if value == 0 or 0.001 <= abs(value) < 100_000:
        return f"{value:.4g}"
    return f"{value:.3e}"


def render(headers: list[str], rows: Iterable[list[str]]) -> str:
    """A plain fixed-width table."""
    body = [headers, *rows]
    widths = [max(len(r[i]) for r in body) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in body]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def figure_rows(
    runs: list[dict[str, Any]], targets: dict[str, Callable[[int], float]] | None = None
) -> list[dict[str, Any]]:
    """One row per (system, operation, N), with the target and whether it is met."""
    targets = TARGETS if targets is None else targets
    rows = []
    for run in runs:
        for op in OPS:
            entry = run["ops"].get(op)
            if entry is None:
                continue
            target = None
            if run["system"] == OURS and op in targets:
                target = targets[op](run["n"])
            rows.append(
                {
                    "system": run["system"],
                    "op": op,
                    "n": run["n"],
                    "median": entry["median"],
                    "min": entry["min"],
                    "max": entry["max"],
                    "unit": entry["unit"],
                    "target": target,
                    "met": None if target is None else entry["median"] <= target,
                    "note": entry.get("note", ""),
                }
            )
    systems = (OURS, *PEERS)
    rows.sort(key=lambda r: (systems.index(r["system"]), OPS.index(r["op"]), r["n"]))
    return rows


def scaling_rows(
    runs: list[dict[str, Any]], op: str = "log_link_durable", target: float = SCALING_TARGET
) -> list[dict[str, Any]]:
    """A figure (default: the durable write cost) at each larger N relative to N = 1,000."""
    by_n = {r["n"]: r["ops"][op]["median"] for r in runs if r["system"] == OURS and op in r["ops"]}
    if 1000 not in by_n:
        return []
    return [
        {
            "op": f"{op} vs N=1000",
            "n": n,
            "ratio": by_n[n] / by_n[1000],
            "target": target,
            "met": by_n[n] / by_n[1000] <= target,
        }
        for n in sorted(by_n)
        if n > 1000
    ]


def ratio_rows(
    runs: list[dict[str, Any]],
    targets: dict[tuple[str, str], tuple[float, int | None]] | None = None,
    peers: tuple[str, ...] = PEERS,
) -> list[dict[str, Any]]:
    """For each shared figure and N measured by us and a peer: how many times better ours is.

    Peer median / our median, or ours / the peer's for throughput (:data:`HIGHER_IS_BETTER`).
    """
    targets = RATIO_TARGETS if targets is None else targets
    medians = {(r["system"], op, r["n"]): e["median"] for r in runs for op, e in r["ops"].items()}
    ns = sorted({r["n"] for r in runs if r["system"] != OURS})
    rows = []
    for op in SHARED:
        for n in ns:
            ours = medians.get((OURS, op, n))
            row: dict[str, Any] = {"op": op, "n": n, "ours": ours}
            present = False
            for peer in peers:
                theirs = medians.get((peer, op, n))
                row[peer] = theirs
                ratio = theirs / ours if theirs is not None and ours else None
                if op in HIGHER_IS_BETTER and ratio:
                    ratio = 1 / ratio
                row[f"{peer}_ratio"] = ratio
                target, at_n = targets.get((op, peer), (None, None))
                if target is not None and at_n not in (None, n):
                    target = None
                row[f"{peer}_target"] = target
                row[f"{peer}_met"] = None if target is None or ratio is None else ratio >= target
                present = present or theirs is not None
            if present:
                rows.append(row)
    return rows


def met_text(met: bool | None) -> str:
    """'yes', 'NO' or '' for no target."""
    return "" if met is None else ("yes" if met else "NO")


def figures_table(rows: list[dict[str, Any]]) -> str:
    """The figures of every system, one line each."""
    headers = ["system", "operation", "N", "median", "min", "max", "unit", "target", "met?"]
    return render(
        headers,
        (
            [
                r["system"],
                r["op"],
                str(r["n"]),
                fmt(r["median"]),
                fmt(r["min"]),
                fmt(r["max"]),
                r["unit"],
                "" if r["target"] is None else f"<= {fmt(r['target'])}",
                met_text(r["met"]),
            ]
            for r in rows
        ),
    )


def ratios_table(rows: list[dict[str, Any]], peers: tuple[str, ...] = PEERS) -> str:
    """Ours against each peer at the same N (x = how many times faster or smaller ours is)."""
    headers = ["operation", "N", "ours"]
    for peer in peers:
        headers += [peer, "x", "target", "met?"]

    def cells(r: dict[str, Any]) -> list[str]:
        out = [r["op"], str(r["n"]), fmt(r["ours"])]
        for peer in peers:
            ratio = r[f"{peer}_ratio"]
            target = r[f"{peer}_target"]
            out += [
                fmt(r[peer]),
                "-" if ratio is None else f"{ratio:.3g}x",
                "" if target is None else f">= {fmt(target)}x",
                met_text(r[f"{peer}_met"]),
            ]
        return out

    return render(headers, (cells(r) for r in rows))


def scaling_table(rows: list[dict[str, Any]]) -> str:
    """How the durable write cost grows with N."""
    return render(
        ["operation", "N", "ratio", "target", "met?"],
        (
            [r["op"], str(r["n"]), f"{r['ratio']:.3g}", f"<= {r['target']}", met_text(r["met"])]
            for r in rows
        ),
    )
