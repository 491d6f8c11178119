"""Command line and repetition scaffolding shared by the peer workloads.

Run inside the peers' virtual environment: standard library plus ``benchmarks.common``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.common import Recorder


def parse_args(description: str) -> argparse.Namespace:
    """The options every workload takes (the orchestrator passes all of them)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--n", type=int, required=True, help="versions in the store")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--sample", type=int, default=200, help="writes timed per repetition")
    p.add_argument("--resolve", type=int, default=1000, help="resolves per repetition")
    p.add_argument("--search", type=int, default=100, help="searches per repetition")
    p.add_argument("--page", type=int, default=100, help="page reads per repetition")
    p.add_argument("--budget", type=float, default=60.0, help="seconds per timed loop")
    p.add_argument("--out", type=Path, default=None, help="results JSON (rewritten as it goes)")
    return p.parse_args()


def recorder(system: str, args: argparse.Namespace) -> Recorder:
    """A recorder for this system at this N, with the run's parameters attached."""
    rec = Recorder(system, args.n, args.out)
    rec.set(
        "params",
        {k: getattr(args, k) for k in ("repeat", "sample", "resolve", "search", "page", "budget")},
    )
    return rec
