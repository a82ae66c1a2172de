"""The side panel: the selected entry with everything that followed it (a note's amendments
with the original kept, an alert's acknowledgements), or before any selection what the session
holds and how to move through it. Text from a person or a file is escaped, never markup."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTextBrowser

from kapsession.integration.review import Review
from kapsession.integration.review_detail import DetailPart, detail_parts, lane_counts
from kapsession.storage.store import Event, parse_iso
from ui import theme
from ui.format import t_plus
from ui.review.entry_text import entry_line, kind_title


class DetailPanel(QTextBrowser):
    def __init__(self) -> None:
        super().__init__()
        self.setAccessibleName("Selected entry")
        self.setOpenLinks(False)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

    def show_entry(self, review: Review, seq: int) -> None:
        self.setHtml(detail_html(review, seq))

    def show_intro(self, review: Review) -> None:
        self.setHtml(intro_html(review))


def _esc(text: object) -> str:
    return html.escape(str(text)).replace("\n", "<br>")


def _when(event: Event) -> str:
    local = parse_iso(event.at).astimezone().strftime("%H:%M:%S")
    t = t_plus(event.t) if event.t is not None else "after the session"
    who = f" · {_esc(event.author)}" if event.author else ""
    return f"<span style='color:{theme.MUTED}'>{t} · {local}{who}</span>"


def detail_html(review: Review, seq: int) -> str:
    said = detail_parts(review, seq)
    if said is None:
        return ""
    event, parts = said
    html_parts = [f"<h3 style='margin:0'>{_esc(kind_title(event))}</h3>", _when(event), "<br>"]
    html_parts += [_part_html(review, part) for part in parts]
    return "".join(html_parts)


def _part_html(review: Review, part: DetailPart) -> str:
    muted = f"<p style='color:{theme.MUTED}'>"
    text = _esc(part.text)
    match part.role:
        case "tags":
            return f"{muted}Tags: {text}</p>"
        case "text":
            return f"<p style='font-size:13pt'>{text}</p>"
        case "original":
            return f"{muted}Original, as first written:</p>{muted}{text}</p>"
        case "amendment":
            assert part.event is not None
            return (
                f"<p><b>Amendment {part.number}</b> · {_when(part.event)}<br>"
                f"Reason: {_esc(part.event.reason or '')}<br>{text}</p>"
            )
        case "line":
            assert part.event is not None
            return f"<p style='font-size:12pt'>{_esc(entry_line(review, part.event))}</p>"
        case "threshold":
            return f"{muted}Threshold: {text}</p>"
        case "reason":
            return f"<p>Reason: {text}</p>"
        case "check":
            return f"{muted}Check: {text}</p>"
        case "unacknowledged":
            return f"<p style='color:{theme.ALERT}'>Not acknowledged.</p>"
        case "acknowledged":
            assert part.event is not None
            said = f": {text}" if part.text else ""
            return f"<p><b>Acknowledged</b> · {_when(part.event)}{said}</p>"
    raise ValueError(part.role)


def intro_html(review: Review) -> str:
    lines = ", ".join(f"{n} {lane}" for lane, n in lane_counts(review).items())
    return (
        f"<p>{_esc(len(review.vitals))} vitals, {_esc(lines or 'no markers')}.</p>"
        f"<p style='color:{theme.MUTED}'>Press → or K for the first marker, or click one. "
        "Click a vitals point to see that reading.</p>"
    )
