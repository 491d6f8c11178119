"""registry_widget: a local-first ML artifact registry that lives in Jupyter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from registry_widget.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RegistryError,
    StoreCorruptedError,
    ValidationError,
)

if TYPE_CHECKING:
    from registry_widget.widget import RegistryWidget

__all__ = [
    "ConflictError",
    "NotFoundError",
    "PermissionDeniedError",
    "RegistryError",
    "RegistryWidget",
    "StoreCorruptedError",
    "ValidationError",
]


def __getattr__(name: str) -> Any:
    # The widget pulls in ipywidgets and anywidget; import them only when it is used.
    if name == "RegistryWidget":
        from registry_widget.widget import RegistryWidget

        return RegistryWidget
    if name == "__version__":
        from importlib.metadata import version

        return version("registry_widget")
    msg = f"module 'registry_widget' has no attribute {name!r}"
    raise AttributeError(msg)
