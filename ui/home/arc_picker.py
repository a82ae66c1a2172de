"""The music arc chosen for a plan, with its pre-flight line: every track of the arc is checked
through the executor (libVLC decodes a little of every track: ~0.2 s for a shipped arc, longer
for a large library), so choosing an arc, and the first paint of the home screen, never wait
for it. The answer comes back on the GUI thread; a newer choice supersedes it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QComboBox, QLabel

from kapsession.music.arc import Arc
from kapsession.music.preflight import PreflightReport, short_summary

from ..executor import Executor
from ..plain_text import plain_label

NO_MUSIC = ""
# The pre-flight of an arc's tracks for a planned length (the composition root passes the real,
# libVLC one).
ArcCheck = Callable[[Arc, int], PreflightReport]
Key = tuple[str, int]  # (arc path, planned minutes)


class ArcPicker(QObject):
    """Owns the arc combo box and the pre-flight line under it (the plan form lays them out)."""

    def __init__(
        self,
        arcs: Mapping[str, Arc],
        check_arc: ArcCheck | None,
        executor: Executor,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.arcs: dict[str, Arc] = {a.path: a for a in arcs.values()}
        self._check_arc = check_arc
        self._executor = executor
        self._checked: dict[Key, PreflightReport] = {}
        self._minutes = 0
        self._held = False
        self.combo = QComboBox()
        self.combo.setAccessibleName("Music arc")
        for arc in sorted(self.arcs.values(), key=lambda a: a.name):
            self.combo.addItem(f"{arc.name} · {arc.total_minutes:g} min", arc.path)
        self.combo.addItem("No music", NO_MUSIC)
        self.status: QLabel = plain_label()
        self.status.setWordWrap(True)
        self.status.setProperty("role", "muted")
        self.status.setAccessibleName("Music pre-flight")
        self.combo.currentIndexChanged.connect(lambda _i: self._on_chosen())

    def chosen_path(self) -> str | None:
        return str(self.combo.currentData() or "") or None

    def choose(self, arc: Arc) -> None:
        self.combo.setCurrentIndex(self.combo.findData(arc.path))

    def set_planned_minutes(self, minutes: int) -> None:
        self._minutes = minutes
        self._on_chosen()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Change the arc and the length together: one pre-flight after, not one for each."""
        self._held = True
        try:
            yield
        finally:
            self._held = False
        self._on_chosen()

    def _on_chosen(self) -> None:
        if self._held:
            return
        arc = self.arcs.get(self.chosen_path() or "")
        if arc is None or self._check_arc is None:
            self.status.setText("" if not self.chosen_path() else "Music will not be checked here.")
            return
        key = (arc.path, self._minutes)
        if key in self._checked:
            self._show(self._checked[key])
            return
        self.status.setText("Checking every track of the arc…")
        check = self._check_arc
        self._executor.submit(lambda: (key, check(arc, key[1])), self._on_checked)

    def _on_checked(self, answer: tuple[Key, PreflightReport]) -> None:
        key, report = answer
        self._checked[key] = report
        with contextlib.suppress(RuntimeError):  # the home screen was closed meanwhile
            arc = self.arcs.get(self.chosen_path() or "")
            if arc is not None and key == (arc.path, self._minutes):
                self._show(report)

    def _show(self, report: PreflightReport) -> None:
        self.status.setText(short_summary(report))
        self.status.setProperty("role", "status" if report.failed else "muted")
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)

    def check_now(
        self, arc_path: str | None = None, minutes: int | None = None
    ) -> PreflightReport | None:
        """Before the dose: the pre-flight again, here and now (files can change). Without
        arguments: the arc and length on the form, whose line shows the answer."""
        self._checked.clear()
        on_form = arc_path is None
        arc = self.arcs.get((self.chosen_path() if on_form else arc_path) or "")
        if arc is None or self._check_arc is None:
            return None
        report = self._check_arc(arc, self._minutes if minutes is None else minutes)
        if on_form:
            self._checked[(arc.path, self._minutes)] = report
            self._show(report)
        return report
