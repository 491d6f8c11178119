"""What a migration did: imported objects, skipped items with reasons, and notes.

A :class:`MigrationSummary` reads well as text (``print(summary)``) and as Markdown or
HTML in a notebook; every piece of user text is escaped in the HTML rendering.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

__all__ = ["ImportedAlias", "ImportedVersion", "MigrationSummary", "SkippedItem"]


@dataclass(frozen=True)
class ImportedVersion:
    """One source model version that became a linked version.

    Parameters
    ----------
    model
        The name of the model in the source registry.
    version
        The version number in the source registry.
    path
        The linked version, ``"Registry/Collection:vN"``.
    artifact
        The artifact version it points to, ``"name:vM"``.
    """

    model: str
    version: int
    path: str
    artifact: str

    def __str__(self) -> str:
        return f"{self.path} <- {self.model} version {self.version} ({self.artifact})"


@dataclass(frozen=True)
class ImportedAlias:
    """An alias set on a linked version.

    Parameters
    ----------
    path
        The linked version that holds the alias, ``"Registry/Collection:vN"``.
    alias
        The alias name.
    origin
        Where it came from, e.g. ``"MLflow alias 'champion' of version 3"``.
    """

    path: str
    alias: str
    origin: str

    def __str__(self) -> str:
        return f"{self.alias} -> {self.path} (from {self.origin})"


@dataclass(frozen=True)
class SkippedItem:
    """Something that was not imported, and why.

    Parameters
    ----------
    kind
        ``"model"``, ``"version"``, ``"alias"`` or ``"tag"``.
    item
        What was skipped, in the source registry's words (e.g. ``"cat-resnet version 2"``,
        ``"alias 'champion' of cat-resnet"``, ``"model 'cat-resnet'"``).
    reason
        Why it was skipped.
    """

    kind: str
    item: str
    reason: str

    def __str__(self) -> str:
        return f"{self.item}: {self.reason}"


@dataclass
class MigrationSummary:
    """The outcome of one migration run.

    Parameters
    ----------
    source
        The source registry (e.g. the MLflow tracking URI).
    registry
        The name of the target registry.
    created_registry
        Whether the target registry was created by this run.
    collections
        Paths of the collections created by this run (``"Registry/Collection"``).
    versions
        The model versions imported by this run.
    aliases
        The aliases set or moved by this run.
    skipped
        Everything that was left out, each with its reason. Versions imported by an
        earlier run are listed here too, so a repeated run explains why it did nothing.
    notes
        Renamed models, tags kept as metadata, stage conflicts: what a reader should know
        about how the source was mapped.
    """

    source: str
    registry: str
    created_registry: bool = False
    collections: list[str] = field(default_factory=list)
    versions: list[ImportedVersion] = field(default_factory=list)
    aliases: list[ImportedAlias] = field(default_factory=list)
    skipped: list[SkippedItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether this run changed the store."""
        return bool(self.created_registry or self.collections or self.versions or self.aliases)

    def _sections(self) -> list[tuple[str, list[str]]]:
        return [
            ("Collections created", list(self.collections)),
            ("Versions imported", [str(v) for v in self.versions]),
            ("Aliases set", [str(a) for a in self.aliases]),
            ("Skipped", [str(s) for s in self.skipped]),
            ("Notes", list(self.notes)),
        ]

    def _headline(self) -> str:
        created = " (created)" if self.created_registry else ""
        return (
            f"Migration from {self.source} into registry {self.registry!r}{created}: "
            f"{len(self.collections)} collection(s) created, "
            f"{len(self.versions)} version(s) imported, {len(self.aliases)} alias(es) set, "
            f"{len(self.skipped)} item(s) skipped"
        )

    def __str__(self) -> str:
        lines = [self._headline()]
        for title, items in self._sections():
            if items:
                lines.append(f"{title}:")
                lines.extend(f"  - {item}" for item in items)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        parts = [f"<p><strong>{html.escape(self._headline())}</strong></p>"]
        for title, items in self._sections():
            if items:
                rows = "".join(f"<li>{html.escape(item)}</li>" for item in items)
                parts.append(
                    f"<details><summary>{html.escape(title)} ({len(items)})</summary>"
                    f"<ul>{rows}</ul></details>"
                )
        return "<div class='registry-widget-migration'>" + "".join(parts) + "</div>"
