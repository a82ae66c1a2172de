"""The review screen and the course view on real sessions in a real SQLite file (offscreen):
markers on the timeline, keyboard and mouse selection showing an entry with its amendment,
note search jumping across sessions, and the home screen opening both."""

from __future__ import annotations

from collections.abc import Iterator

import pyqtgraph as pg
import pytest
from helpers.qt import show_active
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication

from bench.review_data import demo_course
from kapsession.clock import FakeClock
from kapsession.integration.review import build_review
from kapsession.session.live import LiveSession
from kapsession.storage.store import Store
from ui import theme
from ui.review import CourseWindow, ReviewWindow
from ui.settings import Settings


@pytest.fixture
def course_sessions(store: Store, clock: FakeClock) -> list[LiveSession]:
    return demo_course(store, clock)


@pytest.fixture
def window(qtbot, store: Store, course_sessions: list[LiveSession]) -> Iterator[ReviewWindow]:
    w = ReviewWindow(store, course_sessions[0].record.id, settings=Settings())
    w.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)  # qtbot closes it
    qtbot.addWidget(w)
    w.resize(1280, 800)
    show_active(qtbot, w)
    yield w


def _amended_note(store: Store, session_id: int) -> tuple[int, str, str, str]:
    events = store.events(session_id)
    amendment = next(e for e in events if e.kind == "amendment")
    note = next(e for e in events if e.seq == amendment.amends)
    return note.seq, note.data["text"], amendment.data["text"], str(amendment.reason)


def _scatter_seqs(w: ReviewWindow) -> set[int]:
    seqs: set[int] = set()
    for item in w.plot.lanes.childGroup.childItems():
        if isinstance(item, pg.ScatterPlotItem) and item is not w.plot.markers.ring:
            seqs |= {int(s) for s in item.data["data"]}
    return seqs


def test_the_review_opens_with_every_marker_vitals_and_thresholds(
    window: ReviewWindow, store: Store, course_sessions: list[LiveSession]
) -> None:
    review = build_review(store, course_sessions[0].record.id)
    assert window.windowTitle() == f"Review · C-031 · session #{review.record.id}"
    # Every marker is placed on its lane; what is drawn is picked per sliver of visible time
    # (markers at the same minute in the same lane share a dot).
    placed = {int(seq) for _scatter, _xs, seqs in window.plot.markers.groups for seq in seqs}
    assert placed == {m.seq for m in review.markers}
    shown = _scatter_seqs(window)
    assert shown <= placed
    assert len({(m.lane, m.kind, round(m.t / 60)) for m in review.markers}) <= len(shown) + 12
    seq, *_ = _amended_note(store, review.record.id)
    note_t = review.event(seq).t / 60.0  # type: ignore[union-attr]
    window.plot.lanes.setXRange(note_t - 2, note_t + 2, padding=0)
    window.plot.markers.rebin()
    assert seq in _scatter_seqs(window)
    assert window.model.rowCount() == len(review.events)
    # Five vitals series, each with every reading.
    assert len(window.plot.curves) == 5
    systolic = window.plot.curves[0][0].getData()[1]
    assert list(systolic) == [v for v in review.vitals.systolic]
    labels = {
        item.label.toPlainText()
        for p in window.plot.vital_plots
        if p is not None
        for item in p.childGroup.childItems()
        if isinstance(item, pg.InfiniteLine) and getattr(item, "label", None) is not None
    }
    assert {"Systolic > 180", "SpO₂ < 90", "Heart rate > 130"} <= labels
    # The alert is marked on the vitals plots at its time.
    alert_t = review.alerts()[0].t / 60.0
    assert any(
        isinstance(item, pg.InfiniteLine) and item.angle == 90 and item.value() == alert_t
        for item in window.plot.vital_plots[0].childGroup.childItems()  # type: ignore[union-attr]
    )
    assert [b.label for b in review.phases][:2] == ["settling", "onset"]
    tracks = [m.seq for m in review.markers if m.kind == "track_started"]
    assert window.plot.markers.tip(0, 0, tracks[0]).endswith("♪ Low Tide")


def test_keys_move_through_markers_and_show_the_amendment(
    qtbot, window: ReviewWindow, store: Store, course_sessions: list[LiveSession]
) -> None:
    seq, original, amended, reason = _amended_note(store, course_sessions[0].record.id)
    # The timeline has the keys from the start: K moves, it is not typed into the search box.
    assert QApplication.focusWidget() is window.plot
    for _ in range(200):
        if window.current_seq == seq:
            break
        qtbot.keyClick(window.plot, Qt.Key.Key_K)
    assert window.current_seq == seq
    text = window.detail.toPlainText()
    assert amended in text and original in text and reason in text
    assert "Amendment 1" in text
    assert "Tags: quote" in text  # the amendment's tags, not the original's
    # The list follows the selection.
    current = window.entries.currentIndex()
    assert window.model.seq_at(current.row()) == seq
    assert "(amended)" in window.model.data(window.model.index(current.row(), 1))
    # Left goes back one marker, Right forward again.
    qtbot.keyClick(window.plot, Qt.Key.Key_Left)
    assert window.current_seq != seq
    qtbot.keyClick(window.plot, Qt.Key.Key_Right)
    assert window.current_seq == seq
    # Moving through the list selects the entry on the timeline too.
    window.entries.setFocus()
    qtbot.keyClick(window.entries, Qt.Key.Key_Down)
    assert window.current_seq == window.model.seq_at(current.row() + 1)


def test_clicking_a_marker_selects_it(
    qtbot, window: ReviewWindow, store: Store, course_sessions: list[LiveSession]
) -> None:
    seq, _original, amended, _reason = _amended_note(store, course_sessions[0].record.id)
    window.show_all()
    QApplication.processEvents()
    x = window.review.event(seq).t / 60.0  # type: ignore[union-attr]
    scene = window.plot.lanes.mapViewToScene(QPointF(x, window.plot.markers.marker_y[seq]))
    pos = window.plot.mapFromScene(scene)
    qtbot.mouseClick(window.plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: window.current_seq == seq)
    assert amended in window.detail.toPlainText()


def test_search_finds_notes_in_every_session_and_jumps_to_the_hit(
    qtbot, window: ReviewWindow, store: Store, course_sessions: list[LiveSession]
) -> None:
    first = course_sessions[0]
    seq, original, amended, _ = _amended_note(store, first.record.id)
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is window.search
    qtbot.keyClicks(window.search, "AND I LET")  # only in the amended text
    qtbot.keyClick(window.search, Qt.Key.Key_Return)
    assert window.results.isVisible()
    hits = window.hits
    assert {h.session_id for h in hits} == {s.record.id for s in course_sessions}
    assert window.review is not None and window.review.record.id == first.record.id
    assert window.current_seq == seq
    assert amended in window.detail.toPlainText()
    # F3 goes to the next hit: another session opens in the same window at that note.
    qtbot.keyClick(window, Qt.Key.Key_F3)
    hit = window.hits[window._hit_index]
    assert window.review.record.id == hit.session_id != first.record.id
    assert window.current_seq == hit.seq
    assert window.windowTitle().endswith(f"session #{hit.session_id}")
    # The other session is drawn in full: views as wide as before, markers on them.
    QApplication.processEvents()
    assert window.plot.lanes.width() > 500 and window.plot.vital_plots[0].width() > 500  # type: ignore[union-attr]
    # Text found only in an original version is still found, and said to be so.
    window.search.setText(original.split()[-1] + "!")  # no note has it: nothing found
    qtbot.keyClick(window.search, Qt.Key.Key_Return)
    assert window.hits == [] and "No note contains" in window.results.heading.text()
    # Esc hands the keys back to the timeline.
    qtbot.keyClick(window.search, Qt.Key.Key_Escape)
    assert QApplication.focusWidget() is window.plot


def test_course_lists_the_sessions_and_enter_opens_a_review(
    qtbot, store: Store, course_sessions: list[LiveSession]
) -> None:
    opened: list[int] = []
    w = CourseWindow(store, "C-031", opened.append, settings=Settings())
    w.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    qtbot.addWidget(w)
    show_active(qtbot, w)
    assert w.table.rowCount() == 3
    cells = [w.table.item(0, c).text() for c in range(w.table.columnCount())]
    assert cells[2] == "100 mg sublingual" and cells[-2] == "a ten-minute walk each morning"
    assert cells[-1] == "not signed"  # the Signed column (issue 14)
    assert cells[4].startswith("185/")  # the alert's systolic is the peak
    assert w.table.item(1, 2).text() == "125 mg sublingual"
    w.table.setFocus()
    w.table.setCurrentCell(1, 0)
    qtbot.keyClick(w.table, Qt.Key.Key_Return)
    assert opened == [course_sessions[1].record.id]


def test_home_opens_review_and_course_from_the_selected_session(
    qtbot, make_window, course_sessions: list[LiveSession]
) -> None:
    main = make_window(lambda _title, _text: True)
    home = main.home
    home.table.setFocus()
    home.table.selectRow(0)  # the newest session
    assert home.review_button.isEnabled() and home.course_button.isEnabled()
    qtbot.keyClick(home.table, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    review = next(w for w in home.findChildren(ReviewWindow))
    qtbot.waitExposed(review)
    assert review.review is not None
    assert review.review.record.id == course_sessions[-1].record.id
    review.close()
    main.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is main)
    qtbot.keyClick(
        home.table,
        Qt.Key.Key_C,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    course = next(w for w in home.findChildren(CourseWindow))
    assert course.table.rowCount() == 3
    course.close()


def test_a_long_session_draws_a_dot_per_sliver_and_a_click_on_a_line_picks_a_reading(
    qtbot, store: Store, clock: FakeClock
) -> None:
    from bench.review_data import big_session
    from ui.review.plot_style import BINS

    session_id = big_session(store, clock, entries=3000)
    w = ReviewWindow(store, session_id, settings=Settings())
    w.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    show_active(qtbot, w)
    review = w.review
    assert review is not None and len(review.vitals) == 240
    notes = next(g for g in w.plot.markers.groups if len(g[2]) > 2000)
    scatter, xs, _seqs = notes
    assert len(xs) > 2000 and 0 < len(scatter.data) <= BINS + 2
    # Zoomed in to five minutes, every note in them is drawn.
    w.plot.lanes.setXRange(100, 105, padding=0)
    w.plot.markers.rebin()
    assert len(scatter.data) == int(((xs >= 100 - 5 / BINS) & (xs <= 105 + 5 / BINS)).sum())
    # No dots on 240 readings: a click on the systolic line selects the nearest reading.
    curve = w.plot.curves[0][0]
    assert curve.opts["symbol"] is None
    w.show_all()
    QApplication.processEvents()
    t, value = review.vitals.t[120] / 60.0, review.vitals.systolic[120]
    scene = w.plot.vital_plots[0].mapViewToScene(QPointF(t, value))  # type: ignore[union-attr]
    qtbot.mouseClick(w.plot.viewport(), Qt.MouseButton.LeftButton, pos=w.plot.mapFromScene(scene))
    qtbot.waitUntil(lambda: w.current_seq is not None)
    chosen = review.event(w.current_seq)  # type: ignore[arg-type]
    assert chosen is not None and chosen.kind == "vitals"
    assert abs(chosen.t / 60.0 - t) <= 1.0  # type: ignore[operator]
    assert f"BP {chosen.data['systolic']}/" in w.detail.toPlainText()


def test_the_course_view_charts_each_scale_with_bands_response_remission_and_sessions(
    qtbot, store: Store, clock: FakeClock, course_sessions: list[LiveSession]
) -> None:
    from datetime import timedelta

    from bench.measure_data import demo_measures
    from ui.review.measure_chart import MeasureChart, day_x

    w = CourseWindow(store, "C-031", lambda _id: None, settings=Settings())
    w.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    qtbot.addWidget(w)
    assert w.chart is None and not w.legend.isVisibleTo(w)  # no measures: no chart
    days = demo_measures(store, clock, "C-031")
    w.refresh()
    show_active(qtbot, w)
    chart = w.chart
    assert isinstance(chart, MeasureChart) and chart.isVisible()
    assert list(chart.plots) == ["gad7", "phq9"]
    xs = [day_x(d.isoformat()) for d in days]
    assert chart.points["phq9"] == list(zip(xs, [19.0, 14.0, 9.0, 4.0], strict=True))
    assert chart.marks["phq9"] == {
        "response": [(xs[2], 9.0), (xs[3], 4.0)],
        "remission": [(xs[3], 4.0)],
    }
    assert chart.marks["gad7"]["response"] == [(xs[2], 7.0), (xs[3], 6.0)]
    assert chart.marks["gad7"]["remission"] == []
    # three sessions, a dashed line each on both plots, S1 three days after the baseline
    assert len(chart.session_lines) == 6
    assert chart.session_lines[0].value() == day_x((days[0] + timedelta(days=3)).isoformat())
    # the bands: PHQ-9 five, GAD-7 four, shaded behind the line
    regions = {
        k: [i for i in p.items if type(i).__name__ == "LinearRegionItem"]
        for k, p in chart.plots.items()
    }
    assert (len(regions["phq9"]), len(regions["gad7"])) == (5, 4)
    assert w.table.rowCount() == 3  # the sessions' table is still there
    # Opened with the chart (as from the home screen): every session row whole below it,
    # the splitter giving the table their height and the chart the rest.
    # With the app's theme, as in the app (the table's padded rows and header).
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    sheet, palette = app.styleSheet(), app.palette()
    theme.apply(app)
    try:
        again = CourseWindow(store, "C-031", lambda _id: None, settings=Settings())
        again.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        qtbot.addWidget(again)
        show_active(qtbot, again)
        view = again.table.viewport().rect()
        for row in range(3):
            place = again.table.visualItemRect(again.table.item(row, 0))
            assert view.contains(place), (row, place, view)
    finally:
        app.setStyleSheet(sheet)
        app.setPalette(palette)
