"""The wheel carries everything a site needs at run time."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_contents(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("django_thinkific-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in [
        "django_thinkific/py.typed",
        "django_thinkific/migrations/0001_initial.py",
        "django_thinkific/templates/django_thinkific/admin/pre.html",
        "django_thinkific/static/django_thinkific/admin.css",
        "django_thinkific/testing/payloads/order.created.json",
        "django_thinkific/testing/payloads/enrollment.completed.json",
    ]:
        assert required in names, required
    payloads = [
        n
        for n in names
        if n.startswith("django_thinkific/testing/payloads/") and n.endswith(".json")
    ]
    assert len(payloads) == 25
    assert not any(n.startswith(("tests/", "example_project/")) for n in names)
