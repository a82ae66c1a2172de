"""Recording an adverse event on the live screen (issue 15): the offer line that waits, without
taking the focus, under a vitals alert, vomiting or an emergence reaction, and the dialog (Alt+X)
pre-filled from it, with the tier the recorded vitals suggest and its reason. The clinician
chooses the tier that is stored (kapsession/monitoring/adverse.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from kapsession.errors import KapsessionError
from kapsession.monitoring import adverse
from kapsession.storage.store import Event

from ..format import describe_event, t_plus
from ..plain_text import plain_label

KEY = "Alt+X"
# An offer stays on the screen this long (session time) after what prompted it.
OFFER_FOR_S = 15 * 60.0


# The readings a suggestion looks back over (with the baseline): a desaturation that began
# earlier than this is over 60 s long anyway.
LOOK_BACK_S = 60 * 60.0


def _since(events: Sequence[Event], t: float) -> int:
    """Index of the first of the trailing entries at or after `t` (entries are appended in
    time order; one made before the dose has no t and ends the scan)."""
    i = len(events)
    while i > 0:
        e = events[i - 1]
        if e.t is None or e.t < t:
            break
        i -= 1
    return i


def pending_offer(events: Sequence[Event], now_t: float) -> adverse.Prefill | None:
    """The newest vomiting, emergence reaction or alert not yet recorded as an adverse event,
    within OFFER_FOR_S of now, pre-filled; None when there is none. Reads only the trailing
    entries (and the baseline vitals), so a long session costs no more than a short one."""
    recent = events[_since(events, now_t - OFFER_FOR_S) :]
    answered = adverse.recorded_for(recent)
    cause = next(
        (e for e in reversed(recent) if adverse.offers(e.kind, e.data) and e.seq not in answered),
        None,
    )
    if cause is None:
        return None
    context = list(events[_since(events, (cause.t or now_t) - LOOK_BACK_S) :])
    baseline = next((e for e in events if e.kind == "vitals"), None)
    if baseline is not None and (not context or context[0].seq > baseline.seq):
        context.insert(0, baseline)
    return adverse.prefill(cause, context)


def offer_expired(offer: adverse.Prefill | None, now_t: float) -> bool:
    return offer is not None and offer.t is not None and now_t - offer.t > OFFER_FOR_S


def offer_text(offer: adverse.Prefill | None) -> str:
    if offer is None:
        return ""
    s = offer.suggestion
    return f"Record as an adverse event? {KEY}: {offer.event}, suggested {s.tier} ({s.reason})."


class OfferLine(QLabel):
    """One line under the alert banner; never takes the focus."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setProperty("role", "muted")
        self.setWordWrap(True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAccessibleName("Adverse event to record")
        self.setVisible(False)

    def show_offer(self, offer: adverse.Prefill | None) -> None:
        text = offer_text(offer)
        self.setVisible(bool(text))
        if text and text != self.text():
            self.setText(text)


class AdverseEventDialog(QDialog):
    """What happened, the tier (the suggestion chosen to start with, its reason beside it), the
    intervention, what it links to and the outcome. Enter saves; a refused entry stays here."""

    def __init__(
        self,
        events: Sequence[Event],
        offer: adverse.Prefill | None,
        save: Callable[[str, str, str, str, int | None], object],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Adverse event (World SIVA)")
        self._events, self._save, self._offer = list(events), save, offer
        self.what = QLineEdit(offer.event if offer else "")
        self.what.setAccessibleName("What happened")
        self.what.setMaxLength(adverse.MAX_EVENT_CHARS)
        self.tier = QComboBox()
        self.tier.addItems(list(adverse.TIERS))
        self.tier.setAccessibleName("Tier")
        self.intervention = QComboBox()
        self.intervention.addItems(list(adverse.INTERVENTIONS))
        self.intervention.setAccessibleName("Intervention")
        self.link = QComboBox()
        self.link.setAccessibleName("Linked entry")
        self.outcome = QLineEdit()
        self.outcome.setPlaceholderText("e.g. resolved, SpO2 back to 97 % in 40 s")
        self.outcome.setAccessibleName("Outcome")
        self.suggestion = plain_label()
        self.suggestion.setWordWrap(True)
        self.suggestion.setProperty("role", "muted")
        self.suggestion.setAccessibleName("Suggested tier")
        self.error = plain_label()
        self.error.setProperty("role", "status")
        self.error.setWordWrap(True)
        self.error.setAccessibleName("Message")
        form = QFormLayout()
        form.addRow("What happened", self.what)
        form.addRow("Tier", self.tier)
        form.addRow("", self.suggestion)
        form.addRow("Intervention", self.intervention)
        form.addRow("Linked to", self.link)
        form.addRow("Outcome", self.outcome)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._on_save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self._fill_links()
        self.intervention.currentTextChanged.connect(self._on_intervention)
        self._show_suggestion(choose=True)
        self.resize(620, 340)
        self.what.setFocus()
        self.what.selectAll()

    def _fill_links(self) -> None:
        current = self.link.currentData()
        self.link.clear()
        self.link.addItem("(nothing)", None)
        medicine = self.intervention.currentText() == "medicine"
        for e in reversed(self._events):
            if medicine and e.kind not in adverse.MEDICINE_KINDS:
                continue
            if not medicine and e.kind not in adverse.OFFERING_KINDS:
                continue
            self.link.addItem(f"{t_plus(e.t or 0)}  {describe_event(e)}"[:120], e.seq)
        wanted = (
            current if current is not None else (self._offer.linked_seq if self._offer else None)
        )
        index = self.link.findData(wanted)
        self.link.setCurrentIndex(
            max(index, 0) if not medicine else max(index, 1 if self.link.count() > 1 else 0)
        )

    def _show_suggestion(self, choose: bool = False) -> None:
        cause = None
        if self._offer is not None and self._offer.linked_seq is not None:
            cause = next((e for e in self._events if e.seq == self._offer.linked_seq), None)
        causes = adverse.entries_of([cause]) if cause is not None else []
        found = adverse.suggest(
            self._events,
            cause=causes[0] if causes else None,
            intervention=self.intervention.currentText(),
            upto=cause.t if cause is not None else None,
        )
        self.suggestion.setText(f"Suggested: {found.tier}. {found.reason}.")
        if choose:
            self.tier.setCurrentText(found.tier)

    def _on_intervention(self, _text: str) -> None:
        self._fill_links()
        self._show_suggestion()

    def values(self) -> dict[str, Any]:
        return {
            "event": self.what.text(),
            "tier": self.tier.currentText(),
            "intervention": self.intervention.currentText(),
            "outcome": self.outcome.text(),
            "linked_seq": self.link.currentData(),
        }

    def _on_save(self) -> None:
        v = self.values()
        try:
            self._save(v["event"], v["tier"], v["intervention"], v["outcome"], v["linked_seq"])
        except KapsessionError as exc:
            self.error.setText(f"Not saved: {exc}")
            return
        self.accept()
