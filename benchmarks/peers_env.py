"""The virtual environment holding MLflow and Trackio, created once and then reused.

``psycopg2-binary`` is there too: MLflow's SQLAlchemy stores reach PostgreSQL through it
(the team-server benchmark, ``--server``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.common import REPO_ROOT, log

VENV = REPO_ROOT / "benchmarks" / ".peers-venv"
# The versions BENCHMARKS.md was measured with; the newest release in the same major
# series is used when a pin cannot be installed.
PINS = {
    "mlflow": ("3.17.2", "mlflow>=3,<4"),
    "trackio": ("0.43.0", "trackio"),
    "psycopg2-binary": ("2.9.13", "psycopg2-binary>=2.9,<3"),
}


def python() -> Path:
    """The peers' interpreter."""
    return VENV / "bin" / "python"


def installed() -> dict[str, str]:
    """Versions of the peers installed in the environment ({} when it is missing)."""
    if not python().exists():
        return {}
    code = (
        "import json, importlib.metadata as m\n"
        "out = {}\n"
        f"for name in {list(PINS)!r}:\n"
        "    try:\n"
        "        out[name] = m.version(name)\n"
        "    except m.PackageNotFoundError:\n"
        "        pass\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run([str(python()), "-c", code], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {}
    versions: dict[str, str] = json.loads(proc.stdout)
    return versions


def pip(*args: str) -> bool:
    """Run pip in the environment; True when it succeeded."""
    proc = subprocess.run(
        [str(python()), "-m", "pip", "install", "--quiet", *args],
        check=False,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        log(f"pip install {' '.join(args)} failed:\n{proc.stderr[-1500:]}")
    return proc.returncode == 0


def ensure() -> dict[str, str]:
    """Create the environment if needed and return the installed peer versions."""
    versions = installed()
    if set(versions) == set(PINS):
        log(f"reusing {VENV} ({versions})")
        return versions
    if not python().exists():
        log(f"creating {VENV}")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pip("--upgrade", "pip")
    for name, (pin, fallback) in PINS.items():
        if name in versions:
            continue
        log(f"installing {name}=={pin} (takes a few minutes the first time)")
        if not pip(f"{name}=={pin}") and not pip(fallback):
            msg = f"could not install {name} into {VENV}"
            raise RuntimeError(msg)
    versions = installed()
    for name, (pin, _) in PINS.items():
        if versions.get(name) != pin:
            log(f"{name} {pin} was not installable; using {versions.get(name)}")
    return versions
