"""The package surface: public names, and a light import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import registry_widget as rw

ROOT = Path(__file__).resolve().parents[1]


def test_public_names_of_the_spec_are_exported() -> None:
    for name in (
        "Client",
        "Registry",
        "Collection",
        "Link",
        "ArtifactVersion",
        "RegistryError",
        "NotFoundError",
        "PermissionDeniedError",
        "ValidationError",
        "ConflictError",
    ):
        assert name in rw.__all__
        assert getattr(rw, name) is not None
    assert issubclass(rw.ValidationError, rw.RegistryError)
    assert issubclass(rw.NotFoundError, rw.RegistryError)


def test_import_does_not_load_the_widget_stack() -> None:
    code = (
        "import sys, registry_widget\n"
        "heavy = [m for m in ('ipywidgets', 'anywidget', 'traitlets', 'tqdm', 'IPython')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.stdout.strip() == ""


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        rw.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError
