"""Unicode TR39 skeletons: confusable strings have equal skeletons."""

from __future__ import annotations

import subprocess
import sys

import pytest

from registry_widget.skeleton import confusable_with, skeleton


@pytest.mark.parametrize(
    ("look_alike", "original"),
    [
        ("pr\u043eduction", "production"),  # Cyrillic o
        ("\u0440roduction", "production"),  # Cyrillic er
        ("producti\u03bfn", "production"),  # Greek omicron
        ("produ\u200dction", "production"),  # a joiner inside (default-ignorable)
        ("\uff50roduction", "production"),  # fullwidth p
        ("rn", "m"),  # TR39 maps m to rn
        ("I", "l"),
        ("caf\u00e9", "cafe\u0301"),  # composed and decomposed
    ],
)
def test_look_alikes_share_a_skeleton(look_alike: str, original: str) -> None:
    assert skeleton(look_alike) == skeleton(original)
    assert confusable_with(look_alike, ["staging", original]) == original


@pytest.mark.parametrize(("a", "b"), [("production", "staging"), ("prod", "production")])
def test_distinct_strings(a: str, b: str) -> None:
    assert skeleton(a) != skeleton(b)
    assert confusable_with(a, [b]) is None


def test_a_string_is_not_confusable_with_itself() -> None:
    assert confusable_with("production", ["production"]) is None
    assert confusable_with("production", []) is None


def test_importing_the_package_does_not_read_the_table() -> None:
    code = (
        "import sys, registry_widget, registry_widget.skeleton as s;"
        "assert 'confusables' not in sys.modules;"
        "assert s._prototypes.cache_info().currsize == 0"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_skeleton_is_idempotent_on_the_table() -> None:
    # Each character of the table and its representative have one skeleton, which is
    # its own skeleton: the representatives are final.
    from registry_widget.skeleton import _prototypes

    for char, prototype in _prototypes().items():
        assert skeleton(skeleton(char)) == skeleton(char) == skeleton(prototype), ascii(char)
