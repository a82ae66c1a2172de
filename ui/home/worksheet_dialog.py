"""The integration worksheet dialog: five questions (pre-filled from the session's tagged notes
until a first version with answers is saved), follow-up items, what the client shares on the
take-home sheet, the client's three ratings of the music (issue 17, ui/home/music_rating.py), and
every earlier version with who saved it, when, and what it changed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from kapsession.clock import Clock
from kapsession.errors import InvalidEntry
from kapsession.integration.worksheet import (
    ANSWER_KEYS,
    QUESTIONS,
    Worksheet,
    changes,
    prefill,
    save_worksheet,
    session_arc,
    t_mark,
    worksheet_history,
)
from kapsession.music.rating import rating_line
from kapsession.session.live import current_notes
from kapsession.session.notes import TAGS
from kapsession.storage.store import Event, Store, parse_iso

from ..plain_text import plain_label
from .music_rating import RatingFields
from .record_dialog import RecordDialog, saved_on

_TAG_LABEL = {tag: label for tag, _letter, label in TAGS}
VERSION_ROLE = Qt.ItemDataRole.UserRole


class WorksheetDialog(RecordDialog):
    def __init__(
        self,
        store: Store,
        session_id: int,
        clock: Clock,
        tz: str,
        author: str,
        elapsed: Callable[[], float] | None = None,
        confirm: Callable[[str, str], bool] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            "worksheet", store, session_id, clock, tz, author, elapsed, confirm, parent
        )
        record = self.record
        self.setWindowTitle(f"Integration worksheet · {record.client_code} · session #{record.id}")
        events = store.events(session_id)
        self._history = worksheet_history(store, session_id)
        self._last: Worksheet = self._history[-1][0] if self._history else Worksheet()
        # No answers saved yet (none, or only the quick form's music ratings): the draft comes
        # from the notes; it is only a proposal until Ctrl+S, so closing without saving loses
        # nothing that was on the record.
        self._drafting = not any(ws.has_answers() for ws, _ in self._history)
        shown = replace(prefill(events), music=self._last.music) if self._drafting else self._last
        rated = self._last.music
        if rated is not None and (rated.arc_id or rated.arc_name):
            self._arc = (rated.arc_id, rated.arc_name)
        else:
            self._arc = session_arc(store, session_id)
        self._build(
            record.client_code + (" (rehearsal)" if record.rehearsal else ""), record.dose_at
        )
        self._show(shown)
        # The draft as proposed (the ratings as shown, a half-filled set included): closing it
        # untouched asks nothing.
        self._opened = (self._value(), self._ratings_typed())
        self._saved_ratings = self._ratings_typed()
        self._watch_edits()
        self._show_sources(events, shown.from_notes)
        self._show_history()
        self.answers["experienced"].setFocus()

    # --- building --------------------------------------------------------------------------
    def _build(self, client: str, dose_at: str | None) -> None:
        self.answers: dict[str, QPlainTextEdit] = {}
        self.share: dict[str, QCheckBox] = {}
        form = QVBoxLayout()
        for n, (key, question) in enumerate(QUESTIONS, 1):
            label = plain_label(f"&{n}  {question}")
            label.setStyleSheet("font-weight: bold;")
            edit = QPlainTextEdit()
            edit.setAccessibleName(question)
            edit.setTabChangesFocus(True)
            edit.setMinimumHeight(96)
            label.setBuddy(edit)
            share = QCheckBox("Share on the client's take-home sheet")
            share.setAccessibleName(f"Share “{question}” on the take-home sheet")
            self.answers[key], self.share[key] = edit, share
            form.addWidget(label)
            form.addWidget(edit)
            form.addWidget(share)
            form.addSpacing(6)
        follow_label = plain_label("&Follow-up items (one per line)")
        follow_label.setStyleSheet("font-weight: bold;")
        self.follow_up = QPlainTextEdit()
        self.follow_up.setAccessibleName("Follow-up items, one per line")
        self.follow_up.setPlaceholderText("e.g. Book the next integration appointment")
        self.follow_up.setTabChangesFocus(True)
        self.follow_up.setMinimumHeight(80)
        follow_label.setBuddy(self.follow_up)
        form.addWidget(follow_label)
        form.addWidget(self.follow_up)
        form.addSpacing(6)
        self.music = RatingFields()
        form.addWidget(self.music)
        reason_label = plain_label("Reason for this change (optional, kept with the version)")
        reason_label.setProperty("role", "muted")
        self.reason = QLineEdit()
        self.reason.setAccessibleName("Reason for this change")
        self.reason.setPlaceholderText("e.g. after the integration call")
        reason_label.setBuddy(self.reason)
        self.reason_row = QWidget()
        reason_layout = QVBoxLayout(self.reason_row)
        reason_layout.setContentsMargins(0, 6, 0, 0)
        reason_layout.addWidget(reason_label)
        reason_layout.addWidget(self.reason)
        form.addWidget(self.reason_row)
        form.addStretch(1)
        holder = QWidget()
        holder.setLayout(form)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(holder)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)

        self.source_note = plain_label()
        self.source_note.setWordWrap(True)
        self.source_note.setProperty("role", "muted")
        self.sources = QListWidget()
        self.sources.setAccessibleName("Notes that pre-filled the worksheet")
        self.sources.setWordWrap(True)
        sources_box = QGroupBox("Notes that fed it")
        sources_layout = QVBoxLayout(sources_box)
        sources_layout.addWidget(self.source_note)
        sources_layout.addWidget(self.sources, 1)

        self.history = QListWidget()
        self.history.setAccessibleName("Earlier versions")
        self.history.setWordWrap(True)
        self.history.itemActivated.connect(self._on_version_opened)
        history_hint = plain_label("Enter or double-click opens a version")
        history_hint.setProperty("role", "muted")
        history_box = QGroupBox("Versions")
        history_layout = QVBoxLayout(history_box)
        history_layout.addWidget(self.history, 1)
        history_layout.addWidget(history_hint)

        side = QSplitter(Qt.Orientation.Vertical)
        side.addWidget(sources_box)
        side.addWidget(history_box)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(scroll)
        split.addWidget(side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)

        when = f" · dose given {parse_iso(dose_at).astimezone():%Y-%m-%d %H:%M}" if dose_at else ""
        header = plain_label(f"Integration worksheet for {client}{when}")
        header.setStyleSheet("font-size: 15pt; font-weight: bold;")

        buttons = QDialogButtonBox()
        self.save_button = buttons.addButton(
            "Save new version  Ctrl+S", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.save_button.setAutoDefault(False)
        self.save_button.clicked.connect(self.save)
        close = buttons.addButton("Close  Esc", QDialogButtonBox.ButtonRole.RejectRole)
        close.setAutoDefault(False)
        buttons.rejected.connect(self.reject)
        footer = QHBoxLayout()
        footer.addWidget(self.status, 1)
        footer.addWidget(buttons)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.addWidget(header)
        layout.addWidget(split, 1)
        layout.addLayout(footer)
        self.resize(1180, 740)

    # --- values ----------------------------------------------------------------------------
    def _show(self, ws: Worksheet) -> None:
        for key in ANSWER_KEYS:
            self.answers[key].setPlainText(ws.answer(key))
            # Typing adds to what is there (the notes' lines), never in front of it.
            self.answers[key].moveCursor(QTextCursor.MoveOperation.End)
            self.share[key].setChecked(key in ws.shared)
        self.follow_up.setPlainText("\n".join(ws.follow_up))
        self.music.show_rating(ws.music)
        self._from_notes = ws.from_notes

    def _watch_edits(self) -> None:
        for key in ANSWER_KEYS:
            self.answers[key].textChanged.connect(self._on_edited)
            self.share[key].toggled.connect(self._on_edited)
        self.follow_up.textChanged.connect(self._on_edited)
        self.music.changed.connect(self._on_edited)

    def _show_sources(self, events: list[Event], seqs: tuple[int, ...]) -> None:
        self.sources.clear()
        wanted = set(seqs)
        for note, amendment in current_notes(events):
            if note.seq not in wanted:
                continue
            latest = amendment or note
            tags = " ".join(f"[{_TAG_LABEL.get(t, t)}]" for t in latest.data.get("tags", []))
            amended = "  (amended)" if amendment else ""
            text = str(latest.data.get("text", ""))
            short = text if len(text) <= 240 else text[:239] + "…"
            self.sources.addItem(f"{t_mark(note.t)}  {tags} {short}{amended}")
        if not wanted:
            self.source_note.setText(
                "No tagged notes fed this worksheet. Notes tagged quote, image, body, emotion, "
                "insight or for integration during the session pre-fill it."
            )
        elif self._drafting:
            self.source_note.setText(
                f"Pre-filled from {len(wanted)} note(s) as last amended. This draft is not on "
                "the record until you save it (Ctrl+S)."
            )
        else:
            self.source_note.setText(
                f"The first version was pre-filled from {len(wanted)} note(s)."
            )

    def _show_history(self) -> None:
        self.history.clear()
        previous: Worksheet | None = None
        for n, (ws, event) in enumerate(self._history, 1):
            what = ", ".join(changes(previous, ws))
            who = f" · {event.author}" if event.author else ""
            why = f"\n   reason: {event.reason}" if event.reason else ""
            item = QListWidgetItem(f"Version {n} · {saved_on(event)}{who}\n   {what}{why}")
            item.setData(VERSION_ROLE, n - 1)
            self.history.insertItem(0, item)  # newest first
            previous = ws
        if not self._history:
            self.history.addItem("No version saved yet")
        self.reason_row.setVisible(bool(self._history))

    def _value(self, strict: bool = False) -> Worksheet:
        """What the form holds. The ratings: None when none was asked; a half-filled set is
        refused on saving (``strict``) and compared as typed otherwise."""
        items = [line.strip() for line in self.follow_up.toPlainText().splitlines()]
        try:
            music = self.music.rating(*self._arc)
        except InvalidEntry:
            if strict:
                raise
            music = None
        return Worksheet(
            answers={key: self.answers[key].toPlainText().strip() for key in ANSWER_KEYS},
            follow_up=tuple(item for item in items if item),
            shared=tuple(key for key in ANSWER_KEYS if self.share[key].isChecked()),
            from_notes=self._from_notes,
            music=music,
        )

    def _saved(self) -> Worksheet:
        last = self._last
        return Worksheet(
            answers={key: last.answer(key) for key in ANSWER_KEYS},
            follow_up=last.follow_up,
            shared=last.shared,
            from_notes=last.from_notes if self._history else self._from_notes,
            music=last.music,
        )

    def _ratings_typed(self) -> tuple[int, ...]:
        return self.music.values()

    def edited(self) -> bool:
        if self._drafting:
            # The draft from the notes comes back whenever the dialog opens; only what the
            # therapist added to it would be lost.
            return (self._value(), self._ratings_typed()) != self._opened
        return (self._value(), self._ratings_typed()) != (self._saved(), self._saved_ratings)

    def _versions(self) -> int:
        return len(self._history)

    def _write(self) -> Event:
        t = self._elapsed() if self._elapsed is not None else None
        event = save_worksheet(
            self.store,
            self.session_id,
            self._value(strict=True),
            self.clock.now(),
            self.tz,
            self.author,
            t=t,
            reason=self.reason.text(),
        )
        self._last = Worksheet.from_data(event.data)
        self._history.append((self._last, event))
        self._drafting = not any(ws.has_answers() for ws, _ in self._history)
        return event

    def _after_save(self, event: Event) -> None:
        self._saved_ratings = self._ratings_typed()
        self._opened = (self._value(), self._ratings_typed())
        self.reason.clear()
        self._show_history()
        self._show_sources(self.store.events(self.session_id), self._last.from_notes)

    # --- history ---------------------------------------------------------------------------
    def _on_version_opened(self, item: QListWidgetItem) -> None:
        index = item.data(VERSION_ROLE)
        if not isinstance(index, int):
            return
        ws, event = self._history[index]
        view = VersionView(index + 1, ws, event, self)
        view.exec()
        view.deleteLater()


class VersionView(QDialog):
    """One saved version, read-only: what the worksheet said then."""

    def __init__(self, number: int, ws: Worksheet, event: Event, parent: QWidget | None = None):
        super().__init__(parent)
        who = f" by {event.author}" if event.author else ""
        self.setWindowTitle(f"Worksheet version {number} · {saved_on(event)}{who}")
        lines: list[str] = []
        for key, question in QUESTIONS:
            shared = "  (shared with the client)" if key in ws.shared else ""
            lines += [f"{question}{shared}", ws.answer(key) or "–", ""]
        lines += ["Follow-up items", *(f"• {item}" for item in ws.follow_up)]
        if not ws.follow_up:
            lines.append("–")
        if ws.music is not None:
            lines += ["", rating_line(ws.music)]
        if event.reason:
            lines += ["", f"Reason for this version: {event.reason}"]
        self.text = QPlainTextEdit("\n".join(lines))
        self.text.setReadOnly(True)
        self.text.setAccessibleName(f"Version {number}")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        self.resize(760, 620)
