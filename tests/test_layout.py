"""The package's layout rules (README "Layout"), held by reading the source.

Doors (views, admin, api, tasks, management) call ``services``; nothing in
``services`` imports a door; only ``client`` (and the send-test transport,
``sender``, to the site's own target) uses ``requests``; every public exception
is in ``errors`` (DRF's translations of them in ``api/exceptions``); no module
grows past 400 lines.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "django_thinkific"
DOORS = {"tasks", "admin", "api", "views", "management"}
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def _imported(path: Path) -> set[str]:
    """Every module ``path`` imports, as a dotted name inside the package ("" outside)."""
    package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = ".".join([*base, node.module] if node.module else base)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _rel(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


@pytest.mark.parametrize("path", sorted((PACKAGE / "services").glob("*.py")), ids=_rel)
def test_no_service_imports_a_door(path):
    doors = {
        name
        for name in _imported(path)
        if name.startswith("django_thinkific.") and name.split(".")[1] in DOORS
    }
    assert doors == set(), f"{_rel(path)} imports {sorted(doors)}"


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_only_the_client_uses_requests(path):
    # client.py talks to Thinkific; sender.py posts a test event to the site's own
    # target URL (pinned to a checked address), with deadlines.py bounding both.
    if _rel(path) in {"client.py", "sender.py", "deadlines.py"}:
        return
    assert not {n for n in _imported(path) if n == "requests" or n.startswith("requests.")}, _rel(
        path
    )


def test_public_exceptions_live_in_errors():
    """A public exception class (no leading underscore) outside ``errors.py`` and
    ``api/exceptions.py`` (DRF's answers) would be a second place to look."""
    elsewhere = []
    for path in MODULES:
        if _rel(path) in {"errors.py", "api/exceptions.py"}:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                bases = {ast.unparse(base) for base in node.bases}
                if any(b.endswith(("Error", "Exception", "Refused")) for b in bases):
                    elsewhere.append(f"{_rel(path)}:{node.name}")
    assert elsewhere == []


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_no_module_is_over_400_lines(path):
    assert len(path.read_text().splitlines()) <= 400
