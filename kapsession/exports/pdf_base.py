"""What every kapsession PDF shares: embedded DejaVu fonts, safe paragraph text, page styles and
the page decoration (rehearsal banner on every page, footer).

reportlab (BSD, maintained since 2000, pure Python with a small C accelerator) writes the PDF;
fonts are embedded as subsets so any text a therapist typed (Hebrew, Arabic, accents, symbols)
prints the same everywhere. reportlab's Paragraph reads a small XML markup, so every piece of
user text goes through `para` first: markup characters become entities, control characters
visible symbols, and line breaks <br/>."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate

from kapsession.errors import KapsessionError

FONT = "KapDejaVuSans"
FONT_BOLD = "KapDejaVuSans-Bold"
FONT_ITALIC = "KapDejaVuSans-Oblique"
FONT_BOLD_ITALIC = "KapDejaVuSans-BoldOblique"
_FILES = {
    FONT: "DejaVuSans.ttf",
    FONT_BOLD: "DejaVuSans-Bold.ttf",
    FONT_ITALIC: "DejaVuSans-Oblique.ttf",
    FONT_BOLD_ITALIC: "DejaVuSans-BoldOblique.ttf",
}
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/local/share/fonts"),
    Path("/Library/Fonts"),
    Path.home() / "Library/Fonts",
)
PAGE = A4
MARGIN = 18 * mm
WIDTH = PAGE[0] - 2 * MARGIN
# A long text is cut into paragraphs of about this size: reportlab re-wraps the remainder of a
# paragraph at every page break, so one 100 kB paragraph costs far more than fifty 2 kB ones.
CHUNK_CHARS = 2_000

INK = colors.HexColor("#1f2328")
MUTED = colors.HexColor("#59636e")
RULE = colors.HexColor("#d0d7de")
ACCENT = colors.HexColor("#3a6ea5")
ALERT = colors.HexColor("#b3261e")
REHEARSAL_INK = colors.HexColor("#b3261e")

_FUZZ = rl_config._FUZZ  # reportlab's layout tolerance (its frames use the same)

_registered = False


def _fix_astral_to_unicode() -> None:
    """reportlab (5.1 and earlier) writes a character beyond U+FFFF into the font's ToUnicode
    map as five hex digits ("<1F600>"), which PDF readers cut to U+1F60: the glyph prints, but
    copying or searching the text yields the wrong character. The map must hold UTF-16 there
    (a surrogate pair). This wraps reportlab's map writer and rewrites just those entries."""
    original = ttfonts.makeToUnicodeCMap
    if getattr(original, "_kapsession_fixed", False):
        return

    def fixed(fontname: str, subset: Sequence[int]) -> str:
        cmap: str = original(fontname, subset)
        for i, code in enumerate(subset):
            if code > 0xFFFF:
                utf16 = chr(code).encode("utf-16-be").hex().upper()
                cmap = cmap.replace(f"<{i:02X}> <{code:04X}>", f"<{i:02X}> <{utf16}>", 1)
        return cmap

    fixed._kapsession_fixed = True  # type: ignore[attr-defined]
    ttfonts.makeToUnicodeCMap = fixed


def register_fonts() -> None:
    """Register the DejaVu family once per process, or say which package is missing."""
    global _registered, _covered
    if _registered:
        return
    _fix_astral_to_unicode()
    for name, file in _FILES.items():
        path = next((d / file for d in FONT_DIRS if (d / file).is_file()), None)
        if path is None:
            raise KapsessionError(
                f"The DejaVu font {file} is not installed; PDFs need it "
                "(Debian/Ubuntu: apt install fonts-dejavu-core)."
            )
        pdfmetrics.registerFont(TTFont(name, str(path)))
    face = pdfmetrics.getFont(FONT).face
    _covered = frozenset(face.charToGlyph)
    pdfmetrics.registerFontFamily(
        FONT, normal=FONT, bold=FONT_BOLD, italic=FONT_ITALIC, boldItalic=FONT_BOLD_ITALIC
    )
    _registered = True


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    # C0 controls have their own visible pictures (U+2400...); others show as U+FFFD.
    return chr(0x2400 + code) if code < 32 else "\N{SYMBOL FOR DELETE}" if code == 127 else "\ufffd"


_covered: frozenset[int] = frozenset()

# Fonts for what DejaVu Sans cannot draw, tried in this order, each registered (and embedded,
# as a subset) only when a text needs it: Droid Sans Fallback for Chinese, Japanese and Korean,
# Symbola for emoji and other symbols (Debian: fonts-droid-fallback, fonts-symbola).
FALLBACKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("KapDroidSansFallback", ("DroidSansFallbackFull.ttf", "DroidSansFallback.ttf")),
    ("KapSymbola", ("Symbola_hint.ttf", "Symbola.ttf")),
)
FALLBACK_DIRS = (
    Path("/usr/share/fonts/truetype/droid"),
    Path("/usr/share/fonts-droid-fallback/truetype"),
    Path("/usr/share/fonts/truetype/ancient-scripts"),
    Path("/usr/share/fonts/truetype/symbola"),
    *FONT_DIRS,
)
_fallbacks: list[tuple[str, frozenset[int]]] | None = None


def fallbacks() -> list[tuple[str, frozenset[int]]]:
    """(font name, characters it draws) for every fallback font installed."""
    global _fallbacks
    if _fallbacks is None:
        register_fonts()
        found = []
        for name, files in FALLBACKS:
            path = next((d / f for f in files for d in FALLBACK_DIRS if (d / f).is_file()), None)
            if path is None:
                continue
            font = TTFont(name, str(path))
            pdfmetrics.registerFont(font)
            # Bold or italic text falls back to the same face (these fonts have no others).
            pdfmetrics.registerFontFamily(
                name, normal=name, bold=name, italic=name, boldItalic=name
            )
            found.append((name, frozenset(font.face.charToGlyph)))
        _fallbacks = found
    return _fallbacks


def draws(ch: str) -> bool:
    """Whether the PDFs can show this character (DejaVu Sans or an installed fallback)."""
    register_fonts()
    code = ord(ch)
    return code in _covered or any(code in chars for _, chars in fallbacks())


def _font_of(ch: str) -> str | None:
    """'' for DejaVu Sans, a fallback font's name, or None if no font has it."""
    code = ord(ch)
    if code in _covered or ch == "\n":
        return ""
    return next((name for name, chars in fallbacks() if code in chars), None)


def _clean(text: str) -> str:
    if text.isprintable():  # no line break, tab, control character or lone surrogate
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    return _SURROGATE.sub("\ufffd", _CONTROL.sub(_visible, text))


def _escape(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\n", "<br/>")


def para(value: object) -> str:
    """User text as reportlab Paragraph markup that shows exactly that text: markup characters
    as entities, line breaks as <br/>, control characters as their visible symbols, runs that
    DejaVu Sans cannot draw in a fallback font, and what no font has as U+FFFD (which DejaVu
    has: reportlab would otherwise draw nothing there)."""
    register_fonts()
    text = _clean(value if isinstance(value, str) else ("" if value is None else str(value)))
    if text.isascii() or all(ord(c) in _covered or c == "\n" for c in text):
        return _escape(text)
    out: list[str] = []
    run: list[str] = []
    current: str = ""
    for ch in text:
        font = _font_of(ch)
        if font is None:
            font, ch = "", "\ufffd"
        if font != current and run:
            piece = _escape("".join(run))
            out.append(f'<font face="{current}">{piece}</font>' if current else piece)
            run = []
        current = font
        run.append(ch)
    if run:
        piece = _escape("".join(run))
        out.append(f'<font face="{current}">{piece}</font>' if current else piece)
    return "".join(out)


def plain_fits(text: str) -> bool:
    """Whether a text can go into a plain (one-font) table cell as it is."""
    register_fonts()
    return text.isascii() or all(ord(c) in _covered for c in text)


def plain(value: object) -> str:
    """Text for a plain table cell or a chart label (drawn as is in DejaVu Sans, one line):
    what DejaVu cannot draw shows as U+FFFD. User text that needs more goes in a Paragraph."""
    register_fonts()
    text = _clean(value if isinstance(value, str) else ("" if value is None else str(value)))
    text = text.replace("\n", " ")
    if plain_fits(text):
        return text
    return "".join(c if ord(c) in _covered else "\ufffd" for c in text)


def chunks(text: str, size: int = CHUNK_CHARS) -> list[str]:
    """Split a long text into pieces of about `size` characters, at line breaks or spaces
    where possible, so each becomes its own paragraph. Joined, the pieces are the text."""
    if len(text) <= size:
        return [text]
    out: list[str] = []
    start = 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            cut = text.rfind("\n", start + size // 2, end)
            if cut < 0:
                cut = text.rfind(" ", start + size // 2, end)
            if cut >= 0:
                end = cut + 1
        out.append(text[start:end])
        start = end
    return out


class TextBlock(Flowable):  # type: ignore[misc]
    """Plain text in one font, optionally under a bold heading line: what a note is. Laid out
    with simple greedy line breaking on measured words, it costs a fraction of a Paragraph
    (no markup parsing, no fragments), which matters for a session with a thousand notes.
    Only for text DejaVu Sans draws whole (see `block`)."""

    def __init__(
        self,
        text: str | None,
        style: ParagraphStyle,
        head: str = "",
        lines: list[tuple[str, str]] | None = None,
        first: bool = True,
    ) -> None:
        super().__init__()
        self.text, self.style, self.head = text, style, head
        self._lines = lines
        self._width = -1.0
        self._first = first

    def getSpaceBefore(self) -> float:
        return float(self.style.spaceBefore) if self._first else 0.0

    def getSpaceAfter(self) -> float:
        return float(self.style.spaceAfter)

    def _break(self, text: str, width: float) -> list[tuple[str, str]]:
        size = self.style.fontSize
        out: list[tuple[str, str]] = []
        if self.head:
            out += [(FONT_BOLD, line) for line in _greedy(self.head, FONT_BOLD, size, width)]
        for raw in text.split("\n"):
            out += [(FONT, line) for line in _greedy(raw, FONT, size, width)]
        return out

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        if self.text is not None and (self._lines is None or self._width != avail_width):
            self._lines = self._break(self.text, avail_width)
            self._width = avail_width
        self.width = avail_width
        self.height = len(self._lines or []) * self.style.leading
        return self.width, self.height

    def split(self, avail_width: float, avail_height: float) -> list[Flowable]:
        self.wrap(avail_width, avail_height)
        lines = self._lines or []
        fit = int(avail_height // self.style.leading)
        if fit <= 0 or fit >= len(lines):
            return []
        # The pieces keep their broken lines (text None): nothing is measured again.
        head = TextBlock(None, self.style, lines=lines[:fit], first=self._first)
        tail = TextBlock(None, self.style, lines=lines[fit:], first=False)
        return [head, tail]

    def draw(self) -> None:
        text = self.canv.beginText()
        _draw_lines(text, self, self.height, {})
        self.canv.drawText(text)


def _draw_lines(text: Any, block: TextBlock, top: float, state: dict[str, Any]) -> None:
    """Add a block's lines to a text object, the first line's top at `top` (where the canvas's
    drawString would place them, without its per-line text object and width measuring). `state`
    holds the colour and font the text object already has, so they are set only on a change."""
    style = block.style
    size, leading = style.fontSize, style.leading
    if state.get("color") != style.textColor:
        text.setFillColor(style.textColor)
        state["color"] = style.textColor
    # The block's first baseline placed, each further line one leading down (T*): no
    # position or width to compute per line.
    text.setTextOrigin(0, top - size)
    for font, line in block._lines or []:
        if state.get("font") != (font, size, leading):
            text.setFont(font, size, leading)
            state["font"] = (font, size, leading)
        text.textLine(line)


class TextRun(Flowable):  # type: ignore[misc]
    """Consecutive TextBlocks (a session's notes) as one flowable: the frame places, measures
    and draws one flowable per page instead of one per note. The lines land exactly where the
    frame would put the blocks one by one: each block's space before and after (overlapped as
    the frame overlaps them), and at the page's end the block cut where the frame would cut it
    (TextBlock.split) or moved whole to the next page."""

    def __init__(self, blocks: Sequence[TextBlock], head: bool = False) -> None:
        super().__init__()
        self.blocks = list(blocks)
        self._head = head  # a piece split off to fill a page: never taller than the space left

    def getSpaceBefore(self) -> float:
        return self.blocks[0].getSpaceBefore()

    def getSpaceAfter(self) -> float:
        return float(self.blocks[-1].getSpaceAfter())

    def _gap(self, i: int, overlap: object) -> float:
        """The space the frame leaves between block i-1 and block i (i > 0): the block's space
        before and its predecessor's space after, overlapped as the frame overlaps them."""
        after, before = self.blocks[i - 1].getSpaceAfter(), self.blocks[i].getSpaceBefore()
        return float(after + (max(before - after, 0) if overlap else before))

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        # Measured only until it is clearly taller than the space: the frame then asks for a
        # split, and a long run is not measured whole again for every page.
        overlap = rl_config.overlapAttachedSpace
        height = 0.0
        for i, block in enumerate(self.blocks):
            if i:
                height += self._gap(i, overlap)
            height += block.wrap(avail_width, avail_height)[1]
            if height > avail_height + 1 and not self._head:
                break
        self.width = avail_width
        self.height = min(height, avail_height) if self._head else height
        return self.width, self.height

    def split(self, avail_width: float, avail_height: float) -> list[Flowable]:
        """Play the frame's part for each block in turn (reportlab's Frame._add and split, same
        arithmetic) and cut the run where the frame would stop."""
        frame = getattr(self, "_frame", None)
        if frame is not None:
            y, bottom, overlap = frame._y, frame._y1p, frame._oASpace
            s = 0.0
            if not frame._atTop:
                s = self.getSpaceBefore()
                if overlap:
                    s = max(s - frame._prevASpace, 0)
        else:
            y, bottom, s, overlap = avail_height, 0.0, 0.0, rl_config.overlapAttachedSpace
        placed: list[TextBlock] = []
        rest: list[TextBlock] = []
        for i, block in enumerate(self.blocks):
            if i:
                # Frame._add: space before, less the space after already left below the last.
                y -= self.blocks[i - 1].getSpaceAfter()
                s = self._gap(i, overlap) - self.blocks[i - 1].getSpaceAfter()
            room = avail_height if i == 0 else y - bottom - s
            if room <= 0:
                rest = self.blocks[i:]
                break
            height = block.wrap(avail_width, room)[1]
            if y - (height + s) < bottom - _FUZZ:
                pieces = block.split(avail_width, room)
                if pieces:
                    placed.append(pieces[0])
                    rest = [pieces[1], *self.blocks[i + 1 :]]
                else:
                    rest = self.blocks[i:]
                break
            y -= height + s
            placed.append(block)
        if not placed:
            return []
        if not rest:  # all of it fits after all (a rounding tie): placed as it is
            return [TextRun(placed, head=True)]
        return [TextRun(placed, head=True), TextRun(rest)]

    def draw(self) -> None:
        text = self.canv.beginText()
        overlap = rl_config.overlapAttachedSpace
        top = self.height
        state: dict[str, Any] = {}
        for i, block in enumerate(self.blocks):
            if i:
                top -= self._gap(i, overlap)
            _draw_lines(text, block, top, state)
            top -= block.height
        self.canv.drawText(text)


def runs(story: Sequence[Flowable]) -> list[Flowable]:
    """The story with every stretch of consecutive TextBlocks as one TextRun."""
    out: list[Flowable] = []
    stretch: list[TextBlock] = []
    for flowable in story:
        if isinstance(flowable, TextBlock):
            stretch.append(flowable)
            continue
        if stretch:
            out.append(TextRun(stretch))
            stretch = []
        out.append(flowable)
    if stretch:
        out.append(TextRun(stretch))
    return out


def _greedy(text: str, font: str, size: float, width: float) -> list[str]:
    """Lines of at most `width` points: words as they fit, a word too long for a line cut."""
    words = text.split()
    if not words:
        return [""]
    measure = pdfmetrics.getFont(font).stringWidth
    whole = " ".join(words)
    if measure(whole, size) < width - 1e-6:  # most notes: one line, one measurement
        return [whole]
    space = measure(" ", size)
    widths: dict[str, float] = {}
    lines: list[str] = []
    line: list[str] = []
    used = 0.0
    for word in words:
        w = widths.get(word)
        if w is None:
            w = widths[word] = measure(word, size)
        if w > width:  # a very long "word": cut it into pieces that fit
            if line:
                lines.append(" ".join(line))
                line, used = [], 0.0
            piece = ""
            for ch in word:
                if pdfmetrics.stringWidth(piece + ch, font, size) > width and piece:
                    lines.append(piece)
                    piece = ""
                piece += ch
            line, used = [piece], pdfmetrics.stringWidth(piece, font, size)
            continue
        if line and used + space + w > width:
            lines.append(" ".join(line))
            line, used = [], 0.0
        used += (space if line else 0.0) + w
        line.append(word)
    lines.append(" ".join(line))
    return lines


def block(text: str, style: ParagraphStyle, head: str = "") -> list[Flowable]:
    """A note-like text: a fast TextBlock when DejaVu draws all of it, else Paragraphs (which
    switch to the fallback fonts)."""
    clean = _clean(text)
    if plain_fits(clean) and plain_fits(head):
        return [TextBlock(clean, style, head=_clean(head))]
    pieces = chunks(text)
    first = f"<b>{para(head)}</b><br/>{para(pieces[0])}" if head else para(pieces[0])
    return [Paragraph(first, style), *(Paragraph(para(p), style) for p in pieces[1:])]


def styles() -> dict[str, ParagraphStyle]:
    register_fonts()
    base = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=13, textColor=INK)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10.5, textColor=MUTED),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=10),
        "title": ParagraphStyle(
            "title", parent=base, fontName=FONT_BOLD, fontSize=17, leading=22, spaceAfter=4
        ),
        "h2": ParagraphStyle(
            "h2",
            parent=base,
            fontName=FONT_BOLD,
            fontSize=12.5,
            leading=16,
            spaceBefore=10,
            spaceAfter=4,
            textColor=ACCENT,
        ),
        "h3": ParagraphStyle(
            "h3", parent=base, fontName=FONT_BOLD, fontSize=9.5, leading=13, spaceBefore=6
        ),
        "note": ParagraphStyle("note", parent=base, spaceBefore=6),
        "amend": ParagraphStyle(
            "amend",
            parent=base,
            leftIndent=10,
            borderPadding=(2, 0, 2, 6),
            textColor=INK,
            backColor=colors.HexColor("#f3f5f7"),
        ),
        "banner": ParagraphStyle(
            "banner",
            parent=base,
            fontName=FONT_BOLD,
            fontSize=11,
            leading=15,
            alignment=TA_CENTER,
            textColor=REHEARSAL_INK,
            borderColor=REHEARSAL_INK,
            borderWidth=1,
            borderPadding=4,
            spaceAfter=8,
        ),
        # Client handouts: larger, warmer, with room around the words.
        "hand_title": ParagraphStyle(
            "hand_title", parent=base, fontName=FONT_BOLD, fontSize=20, leading=26, spaceAfter=6
        ),
        "hand_h": ParagraphStyle(
            "hand_h",
            parent=base,
            fontName=FONT_BOLD,
            fontSize=13,
            leading=17,
            spaceBefore=12,
            spaceAfter=4,
            textColor=ACCENT,
        ),
        "hand": ParagraphStyle("hand", parent=base, fontSize=11, leading=16, spaceAfter=4),
        "hand_quote": ParagraphStyle(
            "hand_quote",
            parent=base,
            fontName=FONT_ITALIC,
            fontSize=12,
            leading=17,
            leftIndent=12,
            spaceBefore=2,
            spaceAfter=6,
        ),
    }


def paragraphs(text: str, style: ParagraphStyle) -> list[Flowable]:
    return [Paragraph(para(piece), style) for piece in chunks(text)]


def build(
    story: Sequence[Flowable],
    title: str,
    rehearsal: bool,
    footer: str,
    rehearsal_text: str,
) -> bytes:
    """Lay out the story on A4 pages; every page gets the footer and, for a rehearsal, the
    rehearsal line at its top."""
    register_fonts()

    def decorate(canvas: Canvas, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(MARGIN, 10 * mm, footer)
        canvas.drawRightString(PAGE[0] - MARGIN, 10 * mm, f"Page {doc.page}")
        if rehearsal:
            canvas.setFillColor(REHEARSAL_INK)
            canvas.setFont(FONT_BOLD, 8.5)
            canvas.drawCentredString(PAGE[0] / 2, PAGE[1] - 10 * mm, rehearsal_text)
        canvas.restoreState()

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=title,
        author="kapsession",
        creator="kapsession",
    )
    doc.build(list(story), onFirstPage=decorate, onLaterPages=decorate)
    return out.getvalue()
