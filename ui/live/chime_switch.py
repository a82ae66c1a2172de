"""The optional soft chime when a check comes due: off unless the therapist turns it on, and
remembered in the settings."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton, QWidget

from kapsession.music.cue import CHIME, CHIME_VOLUME, CuePlayer

from ..settings import Settings

log = logging.getLogger("kapsession.ui.live")


class ChimeSwitch(QToolButton):
    def __init__(
        self,
        settings: Settings,
        cue_player: Callable[[], CuePlayer] | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._cue_player = cue_player
        self.setCheckable(True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAccessibleName("Soft chime when a check is due")
        self.setChecked(settings.chime)
        self._show(self.isChecked())
        self.toggled.connect(self._on_toggled)

    def _show(self, on: bool) -> None:
        self.setText(f"Chime {'on' if on else 'off'}  Alt+C")

    def _on_toggled(self, on: bool) -> None:
        self._show(on)
        self._settings.chime = on

    def ring(self) -> None:
        if not self.isChecked() or self._cue_player is None:
            return
        try:
            self._cue_player().play_cue(CHIME, CHIME_VOLUME)
        except Exception as exc:  # no sound must never disturb the session
            log.warning("chime failed: %s", type(exc).__name__)
