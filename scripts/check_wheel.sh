#!/usr/bin/env bash
# Builds the wheel, installs it into an empty venv and proves it is complete:
# migrations, templates, static files, sample payloads and py.typed ship, and
# the example site passes check / migrate / makemigrations --check against the
# *installed* package (not the source tree).
set -euo pipefail
py=${1:-python3}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d -t thinkific-wheel-XXXXXX)
trap 'rm -rf "$work"' EXIT

"$py" -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" "$root"
wheel=$(ls "$work"/dist/django_thinkific-*.whl)
echo "built $(basename "$wheel")"

"$py" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet "$wheel" django-environ

mkdir "$work/site"
cp -r "$root/example_project" "$root/manage.py" "$work/site/"
cd "$work/site"
rm -f .env
export SECRET_KEY=wheel-check DEBUG=false THINKIFIC_API_KEY=wheel-check-key \
       DATABASE_URL="sqlite:///$work/site/db.sqlite3" DJANGO_SETTINGS_MODULE=example_project.settings

PYTHONPATH= "$work/venv/bin/python" - <<'PY'
import pathlib, django_thinkific
pkg = pathlib.Path(django_thinkific.__file__).parent
assert "site-packages" in str(pkg), f"imported from the source tree: {pkg}"
need = ["py.typed", "migrations/0001_initial.py", "templates/django_thinkific/admin/pre.html",
        "static/django_thinkific/admin.css", "testing/payloads/order.created.json"]
missing = [n for n in need if not (pkg / n).is_file()]
assert not missing, f"missing from the wheel: {missing}"
payloads = len(list((pkg / "testing/payloads").glob("*.json")))
print(f"wheel contents ok ({payloads} sample payloads) in {pkg}")
PY
"$work/venv/bin/django-admin" check --fail-level WARNING --pythonpath .
"$work/venv/bin/django-admin" migrate --noinput -v 0 --pythonpath .
"$work/venv/bin/django-admin" makemigrations --check --dry-run --pythonpath .
echo "wheel-check: ok"
