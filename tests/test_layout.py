"""The package's floor plan: imports point down, leaves <- store/files <- domain <- widget.

Every module's imports are read with ``ast`` (module level, inside functions and under
``TYPE_CHECKING`` alike) and checked against the layers of STYLE.md: no module imports
one of a higher layer, the store and the blob stores know nothing of each other, the
widget never touches a store, and the modules import each other in no cycle except the
domain's handle classes, which navigate to each other. (That TinyDB is imported only
inside the store is checked in test_store_interface.py.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import registry_widget as rw

PACKAGE = Path(rw.__file__).resolve().parent

# The domain's handle classes navigate to each other (a registry's collections, a
# collection's registry, a link's artifact version and its links, a version's run and
# lineage, a run's inputs and outputs, a run using a path): the one cycle allowed.
HANDLE_MODULES = {
    "registry_widget.domain.artifact_version",
    "registry_widget.domain.collection",
    "registry_widget.domain.lineage",
    "registry_widget.domain.link",
    "registry_widget.domain.registry",
    "registry_widget.domain.run",
    "registry_widget.domain.using",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imported(module: str, path: Path) -> set[str]:
    """The package's modules that ``module`` imports, anywhere in its source."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")
                if path.name != "__init__.py":
                    package = package[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            for alias in node.names:
                # `from package import module` imports the module; otherwise the base.
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in MODULES else base)
    resolved = set()
    for name in found:
        owner = name
        while owner not in MODULES and "." in owner:
            owner = owner.rsplit(".", 1)[0]
        if owner in MODULES and owner != module:
            resolved.add(owner)
    return resolved


IMPORTS = {module: _imported(module, path) for module, path in MODULES.items()}


def _wing(module: str) -> str:
    """The module's wing: a subpackage's name, "leaf" for a pure module, or "package"."""
    if module == "registry_widget":
        return "package"
    name = module.split(".")[1]
    return name if (PACKAGE / name).is_dir() else "leaf"


LAYER = {"leaf": 0, "store": 1, "files": 1, "domain": 2, "widget": 3, "migrate": 4, "package": 4}
"""Each wing's layer: a module may import modules of its own layer or below."""


def test_every_module_belongs_to_a_known_wing() -> None:
    assert {_wing(m) for m in MODULES} <= set(LAYER), sorted({_wing(m) for m in MODULES})


def test_the_import_graph_is_read() -> None:
    # The reader must see what a module really imports, or every check below passes.
    assert "registry_widget.text" in IMPORTS["registry_widget.names"]
    assert "registry_widget.domain.client" in IMPORTS["registry_widget.widget.protocol"]
    assert "registry_widget.files.placing" in IMPORTS["registry_widget.files.artifacts"]


def test_no_import_points_up() -> None:
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in IMPORTS.items()
        for target in targets
        if LAYER[_wing(target)] > LAYER[_wing(module)]
    )
    assert upward == []


def test_the_store_and_the_blob_stores_know_nothing_of_each_other() -> None:
    across = sorted(
        f"{module} -> {target}"
        for module, targets in IMPORTS.items()
        for target in targets
        if {_wing(module), _wing(target)} == {"store", "files"}
    )
    assert across == []


def test_the_widget_never_touches_a_store_or_the_files() -> None:
    touching = sorted(
        f"{module} -> {target}"
        for module, targets in IMPORTS.items()
        if _wing(module) == "widget"
        for target in targets
        if _wing(target) in {"store", "files"}
    )
    assert touching == []


# Recording a run as it happened elsewhere (its own times, user and state) is an
# importer's need the public API does not offer; the run records module is the one seam allowed.
IMPORTER_SEAMS = {"registry_widget.domain.run_records"}


def test_the_importers_use_only_the_public_api_and_the_leaves() -> None:
    beyond = sorted(
        f"{module} -> {target}"
        for module, targets in IMPORTS.items()
        if _wing(module) == "migrate"
        for target in targets
        if _wing(target) not in {"migrate", "package", "leaf"} and target not in IMPORTER_SEAMS
    )
    assert beyond == []


def _cycles() -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(IMPORTS[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.add(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(component)

    for module in sorted(IMPORTS):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycle_outside_the_handle_classes() -> None:
    cycles = _cycles()
    assert [sorted(c) for c in cycles if not c <= HANDLE_MODULES] == []
