"""The review's header: the session named and described in a line, the rehearsal badge, and
the key to the chart (outside the chart, so it never hides a reading)."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from kapsession.integration.review import Review
from kapsession.monitoring.ready import ready_line
from kapsession.storage.store import parse_iso
from ui import theme
from ui.format import t_plus
from ui.plain_text import plain_label
from ui.review.plot_style import SERIES, colour

STATES = {"running": "running now", "ended": "ended", "planned": "planned"}


def session_line(review: Review) -> str:
    record = review.record
    when = (
        parse_iso(record.dose_at).astimezone().strftime("%Y-%m-%d %H:%M")
        if record.dose_at
        else "not started"
    )
    length = t_plus(review.end_t) if record.state != "planned" else "–"
    intention = (
        f" · intention: {' '.join(record.intention.split())[:120]}" if record.intention else ""
    )
    return (
        f"{when} · {record.protocol} · {record.dose_mg:g} mg {record.route} · "
        f"{STATES[record.state]} · {length}{intention}"
    )


def signature_text(review: Review) -> str:
    """ "Signed by A. Rivera, LCSW (therapist) · 2026-12-06 14:03 · reviewed and approved", one
    line a signature, and the amendments made after signing; "Not signed" for an ended session."""
    from kapsession.exports.signature_entries import (
        amended_after_signing,
        signature_line,
        signatures,
    )

    events = sorted(review.events, key=lambda e: e.seq)
    lines = [
        signature_line(s.as_json(), parse_iso(s.at).astimezone().strftime("%Y-%m-%d %H:%M"))
        for s in signatures(events)
    ]
    late = len(amended_after_signing(events))
    if late:
        lines.append(f"{late} amendment(s) after signing")
    if not lines:
        return "Not signed (Ctrl+Shift+S signs)" if review.record.state == "ended" else ""
    return "\n".join(lines)


def legend_html() -> str:
    swatches = "   ".join(
        f"<span style='color:{hue}'>{'┅┅' if style == Qt.PenStyle.DashLine else '━━'}</span>"
        f" {html.escape(label)}"
        for _key, label, hue, style in SERIES
    )
    shade = colour(theme.ALERT, 60).name(QColor.NameFormat.HexArgb)
    return (
        f"{swatches}   <span style='background:{shade}'>"
        "&nbsp;&nbsp;&nbsp;</span> outside the protocol's range"
        f"   <span style='background:{theme.BORDER}'>&nbsp;&nbsp;&nbsp;</span> laptop asleep or app closed"
        f"   <span style='color:{theme.ALERT}'>│</span> alert"
        f"   <span style='color:{theme.TEXT}'>◆</span> amended note"
    )


class ReviewHeader(QWidget):
    def __init__(self, search: QWidget) -> None:
        super().__init__()
        self.title = plain_label()
        self.title.setStyleSheet("font-size: 15pt; font-weight: bold;")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.subtitle = plain_label()
        self.subtitle.setProperty("role", "muted")
        self.subtitle.setTextFormat(Qt.TextFormat.PlainText)
        self.subtitle.setWordWrap(True)
        self.badge = plain_label("REHEARSAL")
        self.badge.setProperty("role", "badge")
        self.badge.hide()
        self.legend = plain_label(legend_html())
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setProperty("role", "muted")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.badge)
        top.addStretch(1)
        top.addWidget(search)
        layout.addLayout(top)
        layout.addWidget(self.subtitle)
        # Signed or not, and by whom (Ctrl+Shift+S signs an ended session).
        self.signatures = plain_label()
        self.signatures.setWordWrap(True)
        self.signatures.setAccessibleName("Signatures")
        layout.addWidget(self.signatures)
        # Ready to leave computed from the entries, beside the time recorded (issue 15).
        self.ready = plain_label()
        self.ready.setProperty("role", "muted")
        self.ready.setWordWrap(True)
        self.ready.setAccessibleName("Ready to leave")
        layout.addWidget(self.ready)
        layout.addWidget(self.legend)

    def show_review(self, review: Review) -> None:
        record = review.record
        self.title.setText(f"{record.client_code} · session #{record.id}")
        self.badge.setVisible(record.rehearsal)
        self.subtitle.setText(session_line(review))
        self.signatures.setText(signature_text(review))
        ready = ready_line(review.events)
        self.ready.setText(ready)
        self.ready.setVisible(bool(ready))
