"""The README, the project's front page: its blocks run, its links resolve, the docs include it.

The install path itself (a new ``startproject`` site from the wheel) is
``tests/test_install_path.py``; here the README's receiver and first test run
in this suite's site, configured by the README's own settings block.
"""

import re
import types

import pytest

from django_thinkific.signals import order_created
from tests.markdown_blocks import (
    README,
    ROOT,
    blocks,
    doc_pages,
    readme_sections,
    section_blocks,
)

TEXT = README.read_text()


def test_every_readme_block_is_in_a_section():
    """A block outside the marked sections would be neither in the docs site nor tested."""
    inside = "".join(readme_sections().values())
    for block in blocks(README):
        assert block.code in inside, f"README.md:{block.line} is outside every section"


def test_the_docs_include_every_readme_section_and_only_those():
    included = set()
    for page in doc_pages():
        included |= set(re.findall(r'^--8<-- "README\.md:([\w-]+)"$', page.read_text(), re.M))
    assert included == set(readme_sections())


def test_readme_links_resolve():
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", TEXT):
        if not target.startswith(("http://", "https://")):
            assert (ROOT / target).exists(), target


def test_install_keeps_the_pypi_line_and_says_how_until_then():
    install = readme_sections()["install"]
    assert "pip install django-thinkific" in install
    assert "pip install ./django-thinkific" in install
    assert "pip install dist/django_thinkific-*.whl" in install
    assert "make wheel-check" in install


def readme_settings(monkeypatch) -> dict:
    """The README's settings block, run as a settings module would run it."""
    monkeypatch.setenv("THINKIFIC_API_KEY", "readme-key")
    (block,) = [b for b in section_blocks("site") if b.target == "mysite/settings.py"]
    namespace = {"INSTALLED_APPS": []}
    exec(compile(block.code, "README.md", "exec"), namespace)
    assert namespace["INSTALLED_APPS"] == ["rest_framework", "django_thinkific"]
    return namespace["THINKIFIC"]


def run_block(section: str, target: str) -> dict:
    (block,) = [b for b in section_blocks(section) if b.target == target]
    module = types.ModuleType(target.replace("/", ".").removesuffix(".py"))
    exec(compile(block.code, f"README.md ({target})", "exec"), module.__dict__)
    return module.__dict__


@pytest.mark.django_db
def test_the_readme_receiver_and_first_test_run_in_a_site_configured_as_it_says(
    client, settings, monkeypatch, mailoutbox
):
    settings.THINKIFIC = readme_settings(monkeypatch)  # no API_BASE_URL, no secret list
    receivers = run_block("receiver", "shop/receivers.py")
    try:
        tests = run_block("first-test", "shop/tests.py")
        tests["test_an_order_mails_the_buyer"](client)
    finally:
        assert order_created.disconnect(receivers["welcome_buyer"])
    (mail,) = mailoutbox
    assert mail.subject == "Welcome to Introduction to Webhooks"
    assert mail.body == "Hello Ada, your course is ready."


def test_the_readme_urls_block_mounts_the_app():
    urls = {"urlpatterns": []}
    (block,) = [b for b in section_blocks("site") if b.target == "mysite/urls.py"]
    exec(compile(block.code, "README.md", "exec"), urls)
    (pattern,) = urls["urlpatterns"]
    assert str(pattern.pattern) == "thinkific/"
    assert pattern.urlconf_module.__name__ == "django_thinkific.urls"


def test_security_md_names_code_that_exists():
    """SECURITY.md says "where the code makes sure of it (`file:function`, paths under
    `django_thinkific/`)". The refactor moved send-test into ``services/sending.py`` (the
    old module only re-exports two names) and renamed ``conf._secret_list``; the review
    kept pointing at what no longer holds the rule."""
    text = (ROOT / "SECURITY.md").read_text()
    stale = []
    for path, name in re.findall(r"`([\w/]+\.py):(\w+)", text):
        source = ROOT / "django_thinkific" / path
        defined = source.exists() and re.search(
            rf"^\s*(?:def|class) {name}\b|^{name}\s*[:=]", source.read_text(), re.M
        )
        if not defined:
            stale.append(f"{path}:{name}")
    assert stale == []
    assert "TestDelivery" not in text  # the old name of SentTestEvent
