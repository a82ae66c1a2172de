"""Exports and handouts from the app: the same files as the command line, written whole,
noted on the timeline; an unwritable place is said plainly and nothing is written."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from kapsession.session.live import LiveSession
from kapsession.storage.store import Store
from ui.export_dialog import CHOICES, ExportDialog
from ui.main_window import MainWindow


def _ended(live: LiveSession) -> int:
    live.add_note("qf: the wave passed and I was still here")
    live.end("test ends early")
    return live.record.id


def _dialog(qtbot, store: Store, session_id: int, target: Path) -> ExportDialog:
    dialog = ExportDialog(store, session_id, "Europe/Berlin", "therapist", lambda _p, _s: target)
    qtbot.addWidget(dialog)
    return dialog


@pytest.mark.parametrize("key", [k for k, _label, _suffix in CHOICES])
def test_every_export_is_written_whole_and_noted_on_the_timeline(
    qtbot, live: LiveSession, store: Store, tmp_path: Path, key: str
) -> None:
    session_id = _ended(live)
    target = tmp_path / f"out-{key.replace(':', '-')}"
    dialog = _dialog(qtbot, store, session_id, target)
    row = next(i for i, (k, _l, _s) in enumerate(CHOICES) if k == key)
    dialog.choices.setCurrentRow(row)
    dialog._export()
    assert dialog.written == target and target.stat().st_size > 100
    data = target.read_bytes()
    if key in ("pdf", "form", "handout:integration", "handout:preparation"):
        assert data.startswith(b"%PDF")
    if key == "pdf":
        text = subprocess.run(
            ["pdftotext", str(target), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "the wave passed and I was still here" in text
    noted = [e for e in store.events(session_id) if e.kind in ("export", "handout")]
    assert len(noted) == 1 and noted[0].data["to"] == "file"
    assert str(target) not in str(noted[0].data)  # where, never the file's name or path


def test_an_unwritable_place_is_said_and_nothing_is_written(
    qtbot, live: LiveSession, store: Store, tmp_path: Path
) -> None:
    session_id = _ended(live)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    dialog = _dialog(qtbot, store, session_id, blocker / "summary.pdf")
    dialog._export()
    assert dialog.written is None
    assert dialog.status.text().startswith("Not written:")
    assert [e for e in store.events(session_id) if e.kind == "export"] == []


def test_ctrl_shift_x_on_the_home_screen_opens_the_export_for_the_selected_session(
    qtbot, make_window: Callable[..., MainWindow], live: LiveSession, tmp_path: Path, modal
) -> None:
    session_id = _ended(live)
    window = make_window(lambda _t, _x: True)
    home = window.home
    home.action_row.choose_file = lambda _parent, _suggested: tmp_path / "from-home.pdf"
    home.refresh()
    home.table.selectRow(0)
    seen: list[str] = []

    def save(dialog: ExportDialog) -> None:
        seen.append(dialog.windowTitle())
        qtbot.keyClick(dialog.choices, Qt.Key.Key_Return)

    modal.next(save, ExportDialog)
    ctrl_shift = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(home.table, Qt.Key.Key_X, ctrl_shift)
    modal.check()
    assert seen == [f"Export session #{session_id}"]
    assert (tmp_path / "from-home.pdf").read_bytes().startswith(b"%PDF")
    assert home.form_status.text() == f"Written: {tmp_path / 'from-home.pdf'}"


def test_the_home_screen_lists_forms_not_exported_until_the_form_is(
    qtbot, make_window: Callable[..., MainWindow], live: LiveSession, tmp_path: Path, modal
) -> None:
    session_id = _ended(live)
    window = make_window(lambda _t, _x: True)
    home = window.home
    home.action_row.choose_file = lambda _parent, _suggested: tmp_path / "form.pdf"
    home.refresh()
    assert home.forms_waiting.isVisibleTo(home)
    (line,) = home.forms_waiting.lines()
    assert line.startswith(f"#{session_id} · ") and line.endswith("form not exported")
    home.table.selectRow(0)

    def save_form(dialog: ExportDialog) -> None:
        row = next(i for i, (k, _l, _s) in enumerate(CHOICES) if k == "form")
        dialog.choices.setCurrentRow(row)
        qtbot.keyClick(dialog.choices, Qt.Key.Key_Return)

    modal.next(save_form, ExportDialog)
    ctrl_shift = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(home.table, Qt.Key.Key_X, ctrl_shift)
    modal.check()
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "form.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Patient Monitoring Form" in text
    assert home.forms_waiting.lines() == []
    assert not home.forms_waiting.isVisibleTo(home)
