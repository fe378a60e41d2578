"""The test tree's own rule: pytest imports a test file of a folder without `__init__.py` by
its basename (rootdir import mode), so two such files of the same name stop the whole run at
collection — which happened twice when branches were merged."""

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def rootless_test_files() -> list[Path]:
    """Test files whose folder is not a package: imported under their bare name."""
    return [p for p in TESTS.rglob("test_*.py") if not (p.parent / "__init__.py").exists()]


def test_test_files_outside_packages_have_basenames_of_their_own() -> None:
    by_name: defaultdict[str, list[str]] = defaultdict(list)
    for path in rootless_test_files():
        by_name[path.name].append(str(path.relative_to(TESTS)))
    clashes = {name: paths for name, paths in by_name.items() if len(paths) > 1}
    assert clashes == {}


def test_the_rule_sees_the_test_folders() -> None:
    names = {p.name for p in rootless_test_files()}
    assert "test_test_layout.py" in names and len(names) > 100
