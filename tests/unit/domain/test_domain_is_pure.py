"""The domain package imports no I/O and no framework: only the standard library, itself
and the wire contract (`schemas`, whose messages the command factories build)."""

import ast
import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[3] / "domain"
ALLOWED_ROOTS = {"domain", "schemas"}


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


def test_domain_imports_only_the_standard_library_itself_and_schemas() -> None:
    files = sorted(DOMAIN.glob("*.py"))
    assert files
    for path in files:
        foreign = imported_roots(path) - ALLOWED_ROOTS - set(sys.stdlib_module_names)
        assert not foreign, f"{path.name} imports {sorted(foreign)}"
