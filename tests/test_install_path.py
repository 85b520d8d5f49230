"""The README's install path, run as a newcomer runs it.

The wheel is built as the README says, installed with its dependencies into a
new virtualenv (no system site-packages, so a dependency missing from
``pyproject.toml`` fails here), and the README's "Set up a site", "Your first
receiver" and "Your first test" sections are applied to a new
``django-admin startproject`` site exactly as written: their shell blocks run
as they are, each ``# path`` block is written to that file (added at its end
where the block says so). Those blocks run ``migrate``, ``check`` and a
pytest-django test that posts a signed delivery with ``post_event`` to the
README's receiver. Editing the README changes what runs here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.markdown_blocks import ROOT, section_blocks

SECTIONS = ("site", "receiver", "first-test")
HEREDOC_END = "README_BLOCK_END"


def script_from_readme() -> str:
    """One bash script: the sections' blocks in order, files written by heredoc."""
    lines = ["set -euo pipefail", "set -x"]
    for section in SECTIONS:
        blocks = section_blocks(section)
        assert blocks, f"README section {section!r} has no code block"
        for block in blocks:
            if block.lang == "sh":
                lines.append(block.code)
            else:
                assert block.target, f"a {block.lang} block of {section!r} names no file"
                assert HEREDOC_END not in block.code
                redirect = ">>" if block.appends else ">"
                lines.append(f"cat {redirect} {block.target} <<'{HEREDOC_END}'")
                lines.append(("\n" if block.appends else "") + block.code.rstrip("\n"))
                lines.append(HEREDOC_END)
    return "\n".join(lines) + "\n"


def run(args: list[str], *, cwd: Path, env: dict[str, str], timeout: int) -> str:
    result = subprocess.run(
        args,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(args[:3])} failed:\n{output[-6000:]}"
    return output


def clean_env(venv: Path) -> dict[str, str]:
    """The caller's environment without what would leak this suite into the new site."""
    dropped = ("DJANGO_", "THINKIFIC_", "PYTEST_", "PYTHON", "VIRTUAL_ENV", "CELERY_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def test_the_readme_install_path_runs_as_written(tmp_path):
    # "python -m pip wheel --no-deps --wheel-dir dist ./django-thinkific"
    run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", "dist", ROOT],
        cwd=tmp_path,
        env=dict(os.environ),
        timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("django_thinkific-*.whl")

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], cwd=tmp_path, env=dict(os.environ), timeout=120)
    env = clean_env(venv)
    # "pip install dist/django_thinkific-*.whl": the dependencies come from the package index.
    run(
        [venv / "bin/python", "-m", "pip", "install", "--quiet", wheel],
        cwd=tmp_path,
        env=env,
        timeout=600,
    )

    script = tmp_path / "readme.sh"
    script.write_text(script_from_readme())
    output = run(["bash", script], cwd=tmp_path, env=env, timeout=600)

    site = tmp_path / "mysite"
    assert (site / "shop" / "receivers.py").is_file()
    assert "System check identified no issues" in output
    assert "Applying django_thinkific.0001_initial... OK" in output
    assert "1 passed" in output, output[-3000:]
    # The new site ran the installed wheel, not this checkout.
    where = run(
        [venv / "bin/python", "-c", "import django_thinkific; print(django_thinkific.__file__)"],
        cwd=site,
        env=env,
        timeout=60,
    )
    assert str(venv) in where, where
    assert str(ROOT) not in where, where


def test_the_script_covers_every_readme_block_of_the_new_site():
    """Each block of the three sections is in the script: none is silently dropped."""
    script = script_from_readme()
    for section in SECTIONS:
        for block in section_blocks(section):
            assert block.code.rstrip("\n") in script, block.code
    assert "django-admin startproject" in script
    assert "manage.py migrate" in script
    assert "manage.py check" in script
    assert "\npytest\n" in script
