"""The fenced code blocks of the README and of ``docs/``, for the tests that run them.

Two ways a block is found, both invisible on GitHub and on the docs site:

- a README section between ``<!-- --8<-- [start:NAME] -->`` and
  ``<!-- --8<-- [end:NAME] -->`` (the same markers the docs site uses to
  include that section: ``--8<-- "README.md:NAME"``);
- a ``<!-- example: NAME -->`` line right before a block in ``docs/*.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"

_FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<code>.*?)^```$", re.S | re.M)
_EXAMPLE = re.compile(r"<!-- example: (?P<name>[\w-]+) -->\n$")
_SECTION = re.compile(
    r"^<!-- --8<-- \[start:(?P<name>[\w-]+)\] -->\n"
    r"(?P<body>.*?)"
    r"^<!-- --8<-- \[end:(?P=name)\] -->$",
    re.S | re.M,
)


@dataclass(frozen=True)
class Block:
    source: str  # the file, relative to the repository root
    lang: str
    code: str
    example: str | None  # the name of its `<!-- example: NAME -->` marker, if any
    line: int

    @property
    def target(self) -> str | None:
        """The file a README block is written to: its first line, ``# path`` or ``# path (...)``."""
        first = self.code.split("\n", 1)[0]
        match = re.fullmatch(r"# ([\w./-]+\.(?:py|ini))(?: \((.*)\))?", first)
        return match.group(1) if match else None

    @property
    def appends(self) -> bool:
        """``# mysite/settings.py (add at the end)``: added to the file, not written over it."""
        return self.code.split("\n", 1)[0].endswith("(add at the end)")


def blocks(path: Path) -> list[Block]:
    text = path.read_text()
    found = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()]
        marker = _EXAMPLE.search(before[-80:])
        found.append(
            Block(
                source=str(path.relative_to(ROOT)),
                lang=match.group("lang"),
                code=match.group("code"),
                example=marker.group("name") if marker else None,
                line=before.count("\n") + 1,
            )
        )
    return found


def doc_pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def examples() -> dict[str, Block]:
    """Every ``<!-- example: NAME -->`` block of ``docs/``, by name (each name once)."""
    named: dict[str, Block] = {}
    for page in doc_pages():
        for block in blocks(page):
            if block.example:
                assert block.example not in named, f"example {block.example!r} twice"
                named[block.example] = block
    return named


def readme_sections() -> dict[str, str]:
    return {m.group("name"): m.group("body") for m in _SECTION.finditer(README.read_text())}


def section_blocks(name: str) -> list[Block]:
    """The fenced blocks of one README section, in order."""
    body = readme_sections()[name]
    return [
        Block("README.md", m.group("lang"), m.group("code"), None, 0) for m in _FENCE.finditer(body)
    ]
