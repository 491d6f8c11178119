"""Import models from other registries into a registry_widget store.

Nothing here is imported by ``import registry_widget``; the source registry's client
library (e.g. MLflow, ``pip install "registry_widget[mlflow]"``) is imported only when a
migration runs.
"""

from __future__ import annotations

from registry_widget.migrate.mlflow import from_mlflow
from registry_widget.migrate.mlflow_mapping import STAGE_ALIASES
from registry_widget.migrate.summary import (
    ImportedAlias,
    ImportedVersion,
    MigrationSummary,
    SkippedItem,
)

__all__ = [
    "STAGE_ALIASES",
    "ImportedAlias",
    "ImportedVersion",
    "MigrationSummary",
    "SkippedItem",
    "from_mlflow",
]
