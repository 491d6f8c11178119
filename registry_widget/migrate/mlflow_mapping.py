"""How MLflow's registry maps onto this one: names, tags, params, times, metadata, aliases.

Pure functions of what :mod:`registry_widget.migrate._mlflow_source` read: a model's
name made a collection name and an artifact name, MLflow tags split into plain-word
tags and key/value pairs, params read as numbers, times as the store's ISO text, the
metadata each imported version carries (by which a later import recognises it), and
which version each MLflow alias and legacy stage names.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from registry_widget.metadata import MAX_METADATA_INT, MIN_METADATA_INT
from registry_widget.migrate._mlflow_source import SourceModel, SourceVersion
from registry_widget.migrate.summary import SkippedItem

if TYPE_CHECKING:
    from registry_widget import ArtifactVersion

STAGE_ALIASES = {"Production": "production", "Staging": "staging", "Archived": "archived"}
"""The alias each legacy MLflow stage becomes (stage ``None`` becomes nothing)."""

ARTIFACT_TYPE = "model"
TAG = re.compile(r"^[-\w]+( +[-\w]+)*$")
RESERVED_ALIAS = re.compile(r"^(latest|v\d+)$")
NOT_ARTIFACT_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")
MAX_NAME = 128
INT = re.compile(r"-?(0|[1-9][0-9]*)")
FLOAT = re.compile(r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")
RUN_STATES: dict[str, Literal["finished", "failed"]] = {
    "FINISHED": "finished",
    "FAILED": "failed",
    "KILLED": "failed",
}


def collection_key(name: str) -> str:
    """How the store compares collection names: case-insensitive after NFC."""
    return unicodedata.normalize("NFC", name).casefold()


def is_tag(text: str) -> bool:
    """Whether ``text`` is a plain-word tag here."""
    return len(text) <= MAX_NAME and TAG.match(text) is not None


def plain_tags(tags: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """Split MLflow tags into plain-word tags (empty value) and key/value pairs."""
    words = sorted(k for k, v in tags.items() if not v and is_tag(k))
    pairs = {k: v for k, v in sorted(tags.items()) if k not in words}
    return words, pairs


def collection_name(model: str) -> str:
    """``model`` made a valid collection name: no ``/``, ``:`` or control characters."""
    cleaned = "".join(
        "-" if c in "/:" or unicodedata.category(c) == "Cc" else c for c in model
    ).strip()
    return cleaned[:MAX_NAME] or "model"


def artifact_name(model: str) -> str:
    """``model`` reduced to an artifact name, ``[A-Za-z0-9_.-]{1,128}``."""
    ascii_name = unicodedata.normalize("NFKD", model).encode("ascii", "ignore").decode()
    cleaned = NOT_ARTIFACT_CHARS.sub("-", ascii_name).strip("-")
    return cleaned[:MAX_NAME] or "model"


def suffixed(base: str, n: int) -> str:
    """``base`` with ``-n`` after it (cut to fit a name) for the n-th try, n > 1."""
    if n == 1:
        return base
    suffix = f"-{n}"
    return base[: MAX_NAME - len(suffix)] + suffix


def mlflow_origin(metadata: Any) -> tuple[str, int] | None:
    """``(model name, version)`` of a version imported from MLflow, else None."""
    info = metadata.get("mlflow") if isinstance(metadata, dict) else None
    if not isinstance(info, dict):
        return None
    name, version = info.get("model_name"), info.get("version")
    if isinstance(name, str) and isinstance(version, int):
        return name, version
    return None


def files_manifest(files: dict[str, Path]) -> dict[str, str]:
    """Relative path -> sha256 hex of downloaded files."""
    return {rel: hashlib.sha256(path.read_bytes()).hexdigest() for rel, path in files.items()}


def stored_manifest(artifact: ArtifactVersion) -> dict[str, str]:
    """Relative path -> sha256 hex of an artifact version's files (digest prefix dropped)."""
    return {rel: str(entry["digest"]).rsplit(":", 1)[-1] for rel, entry in artifact.files.items()}


def param_value(text: str) -> Any:
    """An MLflow param (always a string) as a number when it is one: ``"1e-3"`` → 0.001."""
    if INT.fullmatch(text):
        value = int(text)
        return value if MIN_METADATA_INT <= value <= MAX_METADATA_INT else text
    if FLOAT.fullmatch(text):
        number = float(text)
        return number if math.isfinite(number) else text
    return text


def run_name(name: str) -> str:
    """An MLflow run name as a run name here: one line, at most 128 characters."""
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in name).split())
    return text[:MAX_NAME].strip() or "mlflow-run"


def iso_time(ms: int | None) -> str:
    """Milliseconds since the epoch as the store's ISO-8601 UTC text (now, when unknown)."""
    at = (
        datetime.now(timezone.utc)
        if ms is None
        else datetime.fromtimestamp(ms / 1000, timezone.utc)
    )
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def version_metadata(version: SourceVersion, model_tags: dict[str, str]) -> dict[str, Any]:
    """The metadata of the artifact version imported from ``version``."""
    info: dict[str, Any] = {
        "model_name": version.model,
        "version": version.version,
        "run_id": version.run_id,
        "source": version.source,
        "status": version.status,
        "stage": version.stage,
        "creation_timestamp": version.creation_timestamp,
        "tags": dict(sorted(version.tags.items())),
        "description": version.description,
    }
    if model_tags:
        info["registered_model_tags"] = model_tags
    return {"mlflow": info}


def wanted_aliases(model: SourceModel, skipped: list[SkippedItem]) -> dict[str, tuple[int, str]]:
    """Alias -> (MLflow version, origin): MLflow aliases, then stages.

    A stage that loses to an MLflow alias of the same name, or that older versions share
    with the newest, is noted in ``skipped``.
    """
    wanted = {
        alias: (number, f"MLflow alias of version {number}")
        for alias, number in sorted(model.aliases.items())
    }
    in_stage: dict[str, list[int]] = {}
    for version in model.versions:
        if version.stage in STAGE_ALIASES:
            in_stage.setdefault(version.stage, []).append(version.version)
    for stage, numbers in in_stage.items():
        alias = STAGE_ALIASES[stage]
        if alias in wanted:
            for number in numbers:
                skipped.append(
                    SkippedItem(
                        "alias",
                        f"alias {alias!r} of {model.name} (stage {stage} of version {number})",
                        f"the MLflow alias {alias!r} of version {wanted[alias][0]} wins",
                    )
                )
            continue
        newest = numbers[-1]
        wanted[alias] = (newest, f"stage {stage} of version {newest}")
        for number in numbers[:-1]:
            skipped.append(
                SkippedItem(
                    "alias",
                    f"alias {alias!r} of {model.name} (stage {stage} of version {number})",
                    f"an alias names one version: version {newest}, the newest in "
                    f"stage {stage}, holds it",
                )
            )
    return wanted
