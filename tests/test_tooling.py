"""The tooling says what the project supports and does what CONTRIBUTING.md says it does."""

import configparser
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml
from packaging.specifiers import SpecifierSet

try:
    import tomllib
except ImportError:  # Python 3.10; pytest depends on tomli there
    import tomli as tomllib

import django_thinkific

ROOT = Path(__file__).resolve().parents[1]
PRE_COMMIT = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
CLASSIFIERS = PYPROJECT["project"]["classifiers"]
CONTRIBUTING = (ROOT / "CONTRIBUTING.md").read_text()


def hooks() -> dict[str, dict]:
    return {
        hook["id"]: {**hook, "repo": repo} for repo in PRE_COMMIT["repos"] for hook in repo["hooks"]
    }


def classified(prefix: str) -> list[str]:
    return [
        c.removeprefix(prefix)
        for c in CLASSIFIERS
        if re.fullmatch(re.escape(prefix) + r"\d+\.\d+", c)
    ]


def test_pre_commit_runs_the_hooks_maintainers_expect():
    assert set(hooks()) == {"ruff-check", "ruff-format", "django-upgrade", "mypy", "makemigrations"}


def test_remote_hooks_are_pinned_to_released_versions():
    for repo in PRE_COMMIT["repos"]:
        if repo["repo"] != "local":
            assert re.fullmatch(r"v?\d+\.\d+\.\d+", repo["rev"]), repo


def test_django_upgrade_targets_the_oldest_supported_django():
    args = hooks()["django-upgrade"]["args"]
    target = args[args.index("--target-version") + 1]
    oldest = min(classified("Framework :: Django :: "), key=lambda v: tuple(map(int, v.split("."))))
    assert target == oldest == "4.2"


def test_local_hooks_use_the_venv_the_makefile_creates():
    assert re.search(r"^VENV\s+\?=\s+\.venv$", (ROOT / "Makefile").read_text(), re.M)
    for hook_id in ("mypy", "makemigrations"):
        hook = hooks()[hook_id]
        assert hook["repo"]["repo"] == "local"
        assert hook["entry"].startswith(".venv/bin/")
        assert hook["pass_filenames"] is False


def test_the_makemigrations_hook_finds_no_changes():
    command = shlex.split(hooks()["makemigrations"]["entry"])
    assert command[0] == ".venv/bin/python"
    env = {k: v for k, v in os.environ.items() if k != "THINKIFIC_TEST_DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, *command[1:]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout


def test_pre_commit_is_a_dev_dependency():
    assert any(
        re.match(r"pre-commit\b", dep)
        for dep in PYPROJECT["project"]["optional-dependencies"]["dev"]
    )


def test_tox_runs_every_python_and_django_the_classifiers_claim():
    tox = configparser.ConfigParser()
    tox.read(ROOT / "tox.ini")
    envs = tox["tox"]["envlist"].split()
    django_deps = dict(re.findall(r"^\s*(django\w+): Django(\S+)$", tox["testenv"]["deps"], re.M))
    pythons = {env.split("-")[0] for env in envs}
    for version in classified("Programming Language :: Python :: "):
        assert "py" + version.replace(".", "") in pythons, version
    djangos = {env.split("-")[1] for env in envs if env.split("-")[1].startswith("django")}
    for version in classified("Framework :: Django :: "):
        assert any(version + ".0" in SpecifierSet(django_deps[f]) for f in djangos), version


def test_tox_runs_the_suite_without_the_celery_extra():
    """Celery is an extra: one environment installs the package without it (and not the
    dev extra, which brings it), checks it is absent, and runs what needs no Celery."""
    tox = configparser.ConfigParser()
    tox.read(ROOT / "tox.ini")
    assert "py311-nocelery" in tox["tox"]["envlist"].split()
    env = tox["testenv:py311-nocelery"]
    assert env["extras"].strip() == ""
    assert not any("celery" in dep.lower() for dep in env["deps"].split())
    assert "find_spec('celery') is not None" in env["commands"]
    assert '-m "not celery' in env["commands"]
    optional = PYPROJECT["project"]["optional-dependencies"]
    assert any(dep.startswith("celery") for dep in optional["celery"])
    assert "django-thinkific[celery]" in optional["dev"]
    assert not any("celery" in dep for dep in PYPROJECT["project"]["dependencies"])


def test_contributing_names_real_files_and_make_targets():
    for path in re.findall(r"`((?:tests|django_thinkific|scripts|bench)/[\w./-]*)`", CONTRIBUTING):
        if "certificate.issued" not in path:  # the example of a new topic
            assert (ROOT / path).exists(), path
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
    for target in re.findall(r"`make ([\w-]+)", CONTRIBUTING):
        assert target in targets, target


def test_the_test_layout_table_names_every_test_file():
    named = set(re.findall(r"`tests/(test_\w+\.py)`", CONTRIBUTING))
    on_disk = {path.name for path in (ROOT / "tests").glob("test_*.py")}
    assert on_disk - named == set(), "test files missing from CONTRIBUTING.md's layout"


def test_the_changelog_has_the_current_version_dated():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog
    version = re.escape(django_thinkific.__version__)
    assert re.search(rf"^## \[{version}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.M)


def test_make_lint_s_ruff_steps_pass():
    """CONTRIBUTING.md: ``make test`` runs ``make lint`` (ruff check, ruff format --check,
    mypy) first, so a line ruff refuses anywhere in the tree fails ``make test``."""
    ruff = Path(sys.executable).with_name("ruff")  # every environment installs it (tox.ini)
    assert ruff.exists(), f"no ruff next to {sys.executable}"
    for args in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run(
            [str(ruff), *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
