"""Writing one benchmark's results into docs/benchmarks.md, as its own ``## NAME`` section."""

from __future__ import annotations

from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
TITLE = "# Benchmarks\n\nEach section is written by its benchmark (`python -m bench NAME`).\n"


def write_section(name: str, body: str, path: Path = BENCHMARKS) -> None:
    """Replace (or append) the section ``## name`` of ``path``, leaving the others untouched."""
    text = path.read_text() if path.exists() else TITLE
    header = f"## {name}\n"
    section = f"{header}\n{body.strip()}\n"
    if header in text:
        start = text.index(header)
        end = text.find("\n## ", start + len(header))
        rest = text[end + 1:] if end != -1 else ""
        text = text[:start] + section + ("\n" + rest if rest else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)
