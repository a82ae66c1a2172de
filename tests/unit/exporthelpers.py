"""Reading exports back with real tools: pdftotext (poppler-utils) for PDFs, markdown-it-py (a
CommonMark renderer) for Markdown, Python's HTML parser for what that renders."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt


def pdftotext(pdf: bytes, folder: Path, *, layout: bool = False, raw: bool = False) -> str:
    """The text of a PDF as poppler's pdftotext extracts it; pages separated by form feeds.
    `raw`: in the order the PDF draws it, with the spaces it holds (the default reading order
    guesses word breaks from glyph gaps and drops the one between one-letter words)."""
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: install poppler-utils (scripts/bootstrap.sh test)")
    path = folder / "extract.pdf"
    path.write_bytes(pdf)
    mode = ["-layout"] if layout else ["-raw"] if raw else []
    args = ["pdftotext", "-enc", "UTF-8", *mode, str(path), "-"]
    result = subprocess.run(args, capture_output=True, check=True)
    return result.stdout.decode("utf-8")


def pdf_pages(pdf: bytes, folder: Path) -> list[str]:
    pages = pdftotext(pdf, folder).split("\f")
    return [p for p in pages if p.strip()]


_FURNITURE = re.compile(r"^(Page \d+|kapsession · .*|REHEARSAL - .*)$")


def flowing(text: str) -> str:
    """Extracted text with page furniture (footer, page number, rehearsal line) removed and all
    white space collapsed, so a text that flowed over lines and pages reads as one string."""
    lines = [ln for ln in text.replace("\f", "\n").splitlines() if not _FURNITURE.match(ln.strip())]
    return " ".join(" ".join(lines).split())


def collapse(text: str) -> str:
    return " ".join(text.split())


def render_markdown(md: str) -> str:
    """CommonMark with GFM tables and strikethrough, raw HTML allowed (so any HTML that got
    through unescaped would show up as an element)."""
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(md)


class Html(HTMLParser):
    """Element names and text of rendered HTML; <br> becomes a line break."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.parts: list[str] = []
        self.rows: list[int] = []
        self._after_br = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._after_br = tag == "br"
        if tag == "br":
            self.parts.append("\n")
        elif tag == "tr":
            self.rows.append(0)
        elif tag in ("td", "th"):
            self.rows[-1] += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        if self._after_br and data.startswith("\n"):
            data = data[1:]  # the renderer's own line break after <br />
        self._after_br = False
        self.parts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.parts)
