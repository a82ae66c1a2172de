"""The course chart's day axis: a tick on every day with a measure or a session, labels only
where they do not run into each other."""

from __future__ import annotations

from ui.review.measure_chart import day_ticks


def test_neighbouring_days_keep_their_ticks_but_not_crowded_labels() -> None:
    course = {
        "administrations": [{"date": d} for d in ("2026-02-27", "2026-03-03", "2026-03-10")],
        "sessions": [{"date": d} for d in ("2026-03-02", "2026-03-09", "2026-03-16", None)],
    }
    ticks = day_ticks(course)
    assert len(ticks) == 6  # every day with something on it
    assert [label for _x, label in ticks] == ["27 Feb", "02 Mar", "", "09 Mar", "", "16 Mar"]
    assert [x for x, _label in ticks] == sorted(x for x, _label in ticks)


def test_days_far_apart_are_all_labelled_and_no_days_no_ticks() -> None:
    course = {"administrations": [{"date": "2026-01-05"}, {"date": "2026-02-05"}]}
    assert [label for _x, label in day_ticks(course)] == ["05 Jan", "05 Feb"]
    assert day_ticks({}) == []
