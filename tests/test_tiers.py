"""Every slow test runs somewhere: in CI's second tier (`-m "slow and ci_slow"`, `.ci/run`) or, when it
cannot (full-size data, a tool CI lacks), named in README's account of the full tier, run by hand."""

import ast

from conftest import ROOT


def _marks(node) -> set[str]:
    """The `pytest.mark.NAME` decorators of a test function."""
    marks = set()
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute) and ast.unparse(target).startswith("pytest.mark."):
            marks.add(target.attr)
    return marks


def test_every_slow_test_is_in_ci_or_named_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    by_hand, ci_only = [], []
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                marks = _marks(node)
                if "slow" in marks and "ci_slow" not in marks and f"{path.name}::{node.name}" not in readme:
                    by_hand.append(f"{path.name}::{node.name}")
                if "ci_slow" in marks and "slow" not in marks:
                    ci_only.append(f"{path.name}::{node.name}")
    assert by_hand == [], "slow tests that neither CI runs nor README's full tier names"
    assert ci_only == [], "ci_slow without slow: -m 'slow and ci_slow' would not select them"
