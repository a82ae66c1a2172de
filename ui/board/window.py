"""The room board's window: a dark grid of tiles legible across the nurses' station (large type),
one per room. It only shows what kapsession.hub.board makes of the hub's plain rows: the tiles are
made again every second from the last snapshot (T+ ticks locally) and whenever the feed brings a
new one. F11 toggles full screen; Ctrl+Q quits.

KAPSESSION_BOARD_STATE=FILE (tests, the screenshot script): after each paint of new text the
tiles' texts are written there as JSON (what is on the screen, nothing else)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from datetime import datetime, tzinfo
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QVBoxLayout, QWidget

from kapsession.hub import board
from kapsession.hub.board_feed import FeedStatus

TITLE = "kapsession · room board"
STATE_ENV = "KAPSESSION_BOARD_STATE"

BACKGROUND = "#0e0f11"
TILE = "#1a1c20"
BORDER = "#34373d"
TEXT = "#e8e4dc"
MUTED = "#9a968e"
AMBER = "#f0a830"
RED = "#e5483b"
OFFLINE = "#c98a3a"

STYLESHEET = f"""
QWidget#board {{ background: {BACKGROUND}; }}
QFrame[role="tile"] {{ background: {TILE}; border: 2px solid {BORDER}; border-radius: 14px; }}
QFrame[role="tile"][state="late"] {{ border: 4px solid {RED}; }}
QFrame[role="tile"][state="alert"] {{ border: 4px solid {RED}; }}
QFrame[role="tile"][state="due"] {{ border: 4px solid {AMBER}; }}
QLabel {{ background: transparent; color: {TEXT}; border: none; }}
QLabel[part="room"] {{ color: {MUTED}; font-size: 22pt; font-weight: bold; }}
QLabel[part="client"] {{ font-size: 30pt; font-weight: bold; }}
QLabel[part="clock"] {{ font-size: 44pt; font-weight: bold; }}
QLabel[part="phase"] {{ font-size: 22pt; }}
QLabel[part="check"] {{ font-size: 22pt; color: {MUTED}; padding: 2px 10px; }}
QLabel[part="check"][mark="due"] {{ color: {BACKGROUND}; background: {AMBER};
    border-radius: 8px; font-weight: bold; }}
QLabel[part="check"][mark="late"] {{ color: #ffffff; background: {RED}; border-radius: 8px;
    font-weight: bold; }}
QLabel[part="alerts"] {{ font-size: 22pt; color: {RED}; font-weight: bold; }}
QLabel[part="music"] {{ font-size: 18pt; color: {MUTED}; }}
QLabel[part="offline"] {{ font-size: 20pt; color: {OFFLINE}; font-weight: bold; }}
QLabel[part="status"] {{ font-size: 16pt; color: {MUTED}; padding: 6px 12px; }}
QLabel[part="status"][away="true"] {{ color: {OFFLINE}; font-weight: bold; }}
"""

PARTS = ("room", "client", "clock", "phase", "check", "alerts", "music", "offline")


def tile_texts(t: board.Tile) -> dict[str, str]:
    """What each line of a tile says (also what the test hook writes)."""
    if t.code is None:
        texts = dict.fromkeys(PARTS, "")
        texts.update(room=t.room, client="no session today")
        if t.never_synced:
            texts["offline"] = "not synced yet"
    else:
        if t.check_mark == "due":
            check = f"DUE  {t.check} ({t.check_when})"
        elif t.check_mark == "late":
            check = f"LATE  {t.check} ({t.check_when})"
        elif t.check_mark == "next":
            check = f"next check {t.check_when}: {t.check}"
        else:
            check = "no check to come" if not t.ended else ""
        client = t.code + ("  (rehearsal)" if t.rehearsal else "")
        texts = {
            "room": t.room,
            "client": client,
            "clock": t.t_plus,
            "phase": t.phase or "—",
            "check": check,
            "alerts": "\n".join(f"ALERT  {a}" for a in t.alerts),
            "music": "" if t.ended else ("♪ music on" if t.music else "music off"),
            "offline": "",
        }
    if t.offline_since:
        texts["offline"] = f"offline since {t.offline_since}"
    return texts


def tile_state(t: board.Tile) -> str:
    if t.alerts or t.check_mark == "late":
        return "late" if t.check_mark == "late" else "alert"
    if t.check_mark == "due":
        return "due"
    return ""


class TileView(QFrame):
    def __init__(self, room: str) -> None:
        super().__init__()
        self.setProperty("role", "tile")
        self.room = room
        self.labels: dict[str, QLabel] = {}
        box = QVBoxLayout(self)
        box.setContentsMargins(22, 16, 22, 16)
        box.setSpacing(6)
        for part in PARTS:
            label = QLabel()
            label.setProperty("part", part)
            label.setAccessibleName(f"{room} {part}")
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setWordWrap(part in ("alerts", "check"))
            box.addWidget(label)
            self.labels[part] = label
        box.addStretch(1)

    def show_tile(self, t: board.Tile) -> None:
        texts = tile_texts(t)
        for part, label in self.labels.items():
            label.setText(texts[part])
            label.setVisible(bool(texts[part]))
        mark = t.check_mark or ""
        _restyle(self.labels["check"], "mark", mark)
        _restyle(self, "state", tile_state(t))


def _restyle(widget: QWidget, name: str, value: str) -> None:
    if widget.property(name) != value:
        widget.setProperty(name, value)
        widget.style().unpolish(widget)
        widget.style().polish(widget)


class _Bridge(QObject):
    """Hands the feed thread's news to the GUI thread (queued signals)."""

    snapshot = Signal(object)
    status = Signal(object)


class BoardWindow(QWidget):
    def __init__(
        self, now: Callable[[], datetime], zone: tzinfo | None = None, tick_ms: int = 1000
    ) -> None:
        super().__init__()
        self.setObjectName("board")
        self.setWindowTitle(TITLE)
        self.setStyleSheet(STYLESHEET)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        font = QFont(self.font())
        font.setStyleHint(QFont.StyleHint.SansSerif)
        self.setFont(font)
        self._now, self._zone = now, zone
        self._snapshot: board.Snapshot | None = None
        self._status = FeedStatus(False, None, None)
        self._views: dict[str, TileView] = {}
        self._written = ""
        outer = QVBoxLayout(self)
        outer.setContentsMargins(16, 16, 16, 8)
        self._grid = QGridLayout()
        self._grid.setSpacing(16)
        outer.addLayout(self._grid, 1)
        self.status_line = QLabel("connecting to the clinic hub…")
        self.status_line.setProperty("part", "status")
        self.status_line.setAccessibleName("hub status")
        outer.addWidget(self.status_line)
        self.bridge = _Bridge()
        self.bridge.snapshot.connect(self.set_snapshot)
        self.bridge.status.connect(self.set_status)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._timer.start(tick_ms)
        QShortcut(QKeySequence("F11"), self, self.toggle_full_screen)
        QShortcut(QKeySequence("Ctrl+Q"), self, self.close)
        self.resize(1280, 800)

    def toggle_full_screen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()

    def set_snapshot(self, snapshot: board.Snapshot) -> None:
        self._snapshot = snapshot
        self.refresh()

    def set_status(self, status: FeedStatus) -> None:
        self._status = status
        self.refresh()

    def tiles(self) -> list[board.Tile]:
        if self._snapshot is None:
            return []
        return board.tiles(self._snapshot, self._now(), self._zone)

    def refresh(self) -> None:
        made = self.tiles()
        rooms = [t.room for t in made]
        if rooms != list(self._views):
            self._lay_out(rooms)
        for t in made:
            self._views[t.room].show_tile(t)
        self._show_status(len(made))
        self._write_state()

    def _lay_out(self, rooms: list[str]) -> None:
        for view in self._views.values():
            self._grid.removeWidget(view)
            view.deleteLater()
        self._views = {}
        columns = max(1, math.ceil(math.sqrt(len(rooms))))
        for i, room in enumerate(rooms):
            view = TileView(room)
            self._grid.addWidget(view, i // columns, i % columns)
            self._views[room] = view

    def _show_status(self, rooms: int) -> None:
        s = self._status
        if s.unreachable_since is not None:
            since = s.unreachable_since.astimezone(self._zone).strftime("%H:%M")
            text = f"clinic hub unreachable since {since}: showing what it last said"
            away = "true"
        elif s.problem:
            text, away = s.problem, "true"
        elif self._snapshot is None:
            text, away = "connecting to the clinic hub…", ""
        else:
            how = "live" if s.listening else "polling every few seconds"
            text, away = f"clinic hub: {how} · {rooms} room{'' if rooms == 1 else 's'}", ""
        self.status_line.setText(text)
        _restyle(self.status_line, "away", away)

    def visible_texts(self) -> dict[str, object]:
        return {
            "status": self.status_line.text(),
            "rooms": {
                room: {part: label.text() for part, label in view.labels.items()}
                | {"state": str(view.property("state") or "")}
                for room, view in self._views.items()
            },
        }

    def _write_state(self) -> None:
        path = os.environ.get(STATE_ENV)
        if not path:
            return
        text = json.dumps(self.visible_texts(), sort_keys=True)
        if text == self._written:
            return
        tmp = Path(path + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        self._written = text
