"""The package's layers: no module imports from a layer above its own, and there is no import circle.

Every `import` is counted, at module level or inside a function: a lazy import is still a dependency.
ARCHITECTURE.md draws the same layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "auditor"

# Bottom to top. A module belongs to the longest entry that names it or a package above it ("auditor"
# itself names only the package's __init__: a new module must be placed here, not fall to the top).
LAYERS = [
    ("base", ["auditor.errors", "auditor.plots", "auditor.device", "auditor.safeio"]),
    ("signals and figures", ["auditor.scoring", "auditor.metrics", "auditor.rundir", "auditor.distributed",
                             "auditor.compare"]),
    ("configuration", ["auditor.config", "auditor.backends.registry"]),
    ("inputs and models", ["auditor.data", "auditor.input_formats", "auditor.backends", "auditor.resume", "auditor.provenance",
                           "auditor.multilabel.data", "auditor.multilabel.backend", "auditor.multilabel.finetune",
                           "auditor.multilabel.scoring", "auditor.multilabel.dynamics", "auditor.multilabel.metrics",
                           "auditor.multilabel.bench"]),
    ("saved models", ["auditor.final_model", "auditor.predict"]),
    ("run files and rendering", ["auditor.runfiles", "auditor.report", "auditor.annotate.export", "auditor.annotate.suspects",
                                 "auditor.summary", "auditor.multilabel.report", "auditor.multilabel.export"]),
    ("result", ["auditor.result", "auditor.multilabel.result"]),
    ("audit", ["auditor.pipeline", "auditor.annotate", "auditor.multilabel"]),
    ("API", ["auditor.api", "auditor.benchmark", "auditor.multilabel.api", "auditor.multilabel.plugin"]),
    ("command line", ["auditor.cli", "auditor.__main__", "auditor"]),
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(module: str) -> int:
    best, best_len = None, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            inside = module.startswith(prefix + ".") and prefix != "auditor"
            if (module == prefix or inside) and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    assert best is not None, f"{module} is in no layer: add it to LAYERS (and ARCHITECTURE.md)"
    return best


def _imports(path: Path, module: str) -> set[str]:
    """Package modules that `path` imports (a `from X import name` counts X.name when that is a module)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "auditor")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "auditor":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in _MODULES else target)
    return found - {module}


_FILES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
_MODULES = set(_FILES)
_GRAPH = {m: _imports(p, m) for m, p in _FILES.items()}


@pytest.mark.parametrize("module", sorted(_MODULES))
def test_no_import_from_a_layer_above(module):
    own = _layer(module)
    above = sorted(t for t in _GRAPH[module] if _layer(t) > own)
    assert not above, (f"{module} (layer {LAYERS[own][0]!r}) imports from higher layers: "
                       + ", ".join(f"{t} ({LAYERS[_layer(t)][0]!r})" for t in above))


def _is_package_init(module: str) -> bool:
    return _FILES[module].name == "__init__.py"


def _own_package_init(module: str, target: str) -> bool:
    """`target` is the __init__ of a package holding `module`, and does not import `module` back."""
    return _is_package_init(target) and module.startswith(target + ".") and module not in _GRAPH[target]


def test_no_import_circle():
    # Importing a submodule runs its package's __init__ first, so a submodule's edge to its own package's
    # __init__ is no circle by itself and is left out, but only while that __init__ does not import the
    # submodule back (at module level or in a function): then each needs the other, a real circle.
    def edges(m):
        return {t for t in _GRAPH[m] if t in _MODULES and not _own_package_init(m, t)}

    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for t in sorted(edges(m)):
            if state.get(t) == 1:
                circle = stack[stack.index(t):] + [t]
                pytest.fail("import circle: " + " -> ".join(circle))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(_MODULES):
        if m not in state:
            visit(m)


def test_the_checker_sees_imports():
    """The graph is not empty by mistake: known edges are found, lazy imports included."""
    assert "auditor.scoring.registry" in _GRAPH["auditor.scoring.combine"]
    assert "auditor.runfiles" in _GRAPH["auditor.annotate.export"]
    assert "auditor.pipeline" in _GRAPH["auditor.cli.run"]  # imported inside a function
    assert "auditor.backends.tfidf" in _GRAPH["auditor.backends"]  # make_plan imports it in a function
    assert _layer("auditor.cli.main") > _layer("auditor.pipeline") > _layer("auditor.scoring.loss")
