"""The side panel: the selected entry with everything that followed it (a note's amendments
with the original kept, an alert's acknowledgements), or before any selection what the session
holds and how to move through it. Text from a person or a file is escaped, never markup."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTextBrowser

from kapsession.integration.review import Review
from kapsession.integration.review_navigation import lane_counts
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
    detail = review.detail(seq)
    if detail is None:
        return ""
    event = detail.event
    parts = [f"<h3 style='margin:0'>{_esc(kind_title(event))}</h3>", _when(event), "<br>"]
    if event.kind == "note":
        # The tags as they are now: an amendment may have changed them.
        current = detail.amendments[-1] if detail.amendments else event
        tags = current.data.get("tags") or []
        if tags:
            parts.append(f"<p style='color:{theme.MUTED}'>Tags: {_esc(', '.join(tags))}</p>")
        parts.append(f"<p style='font-size:13pt'>{_esc(detail.current_text or '')}</p>")
        if detail.amendments:
            parts.append(
                f"<p style='color:{theme.MUTED}'>Original, as first written:</p>"
                f"<p style='color:{theme.MUTED}'>{_esc(event.data.get('text', ''))}</p>"
            )
            for n, amendment in enumerate(detail.amendments, 1):
                parts.append(
                    f"<p><b>Amendment {n}</b> · {_when(amendment)}<br>"
                    f"Reason: {_esc(amendment.reason or '')}<br>"
                    f"{_esc(amendment.data.get('text', ''))}</p>"
                )
    else:
        parts.append(f"<p style='font-size:12pt'>{_esc(entry_line(review, event))}</p>")
        if event.kind == "alert" and event.data.get("source"):
            parts.append(
                f"<p style='color:{theme.MUTED}'>Threshold: {_esc(event.data['source'])}</p>"
            )
        if event.reason:
            parts.append(f"<p>Reason: {_esc(event.reason)}</p>")
        if event.data.get("check"):
            parts.append(f"<p style='color:{theme.MUTED}'>Check: {_esc(event.data['check'])}</p>")
        if event.kind == "alert" and not detail.acknowledgements:
            parts.append(f"<p style='color:{theme.ALERT}'>Not acknowledged.</p>")
        for ack in detail.acknowledgements:
            text = f": {_esc(ack.data['text'])}" if ack.data.get("text") else ""
            parts.append(f"<p><b>Acknowledged</b> · {_when(ack)}{text}</p>")
    return "".join(parts)


def intro_html(review: Review) -> str:
    lines = ", ".join(f"{n} {lane}" for lane, n in lane_counts(review).items())
    return (
        f"<p>{_esc(len(review.vitals))} vitals, {_esc(lines or 'no markers')}.</p>"
        f"<p style='color:{theme.MUTED}'>Press → or K for the first marker, or click one. "
        "Click a vitals point to see that reading.</p>"
    )
