"""What the home screen decides around planning and giving a dose, Qt-free: which actions a
session in the list allows, the arc a protocol brings, and the questions asked before the dose
(unconfirmed screening, music that would not play). The screen only shows the answers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kapsession.music.arc import Arc
from kapsession.music.preflight import PreflightReport, short_summary
from kapsession.storage.store import SessionRecord

DOSE_TITLE = "Give dose now?"
MUSIC_TITLE = "Some music would not play"


@dataclass(frozen=True)
class SessionActions:
    """What the home screen's buttons may do for the session chosen in the list."""

    give_dose: bool  # a planned session is given its dose from the list
    prepare: bool  # preparing a running session belongs to the live screen (with its clock)
    worksheet: bool
    export: bool
    review: bool  # with nothing selected: the newest session that was given
    course: bool


def can_give_dose(record: SessionRecord | None) -> bool:
    return record is not None and record.state == "planned"


def latest_given(records: Sequence[SessionRecord]) -> SessionRecord | None:
    """The newest session that was given its dose (records oldest first)."""
    given = [r for r in records if r.state != "planned"]
    return given[-1] if given else None


def session_actions(
    selected: SessionRecord | None, newest_given: SessionRecord | None
) -> SessionActions:
    state = selected.state if selected is not None else None
    shown = selected or newest_given
    return SessionActions(
        give_dose=can_give_dose(selected),
        prepare=state == "planned",
        worksheet=state in ("running", "ended"),
        export=selected is not None,
        review=shown is not None and shown.state != "planned",
        course=shown is not None,
    )


def arc_for_protocol(arcs: Iterable[Arc], route: str, planned_minutes: int) -> Arc | None:
    """The arc made for the protocol's route whose length is nearest its planned length."""
    fitting = [a for a in arcs if route in a.routes]
    if not fitting:
        return None
    return min(fitting, key=lambda a: abs(a.total_minutes - planned_minutes))


def dose_question(
    code: str, mg: float, route: str, still_open: Sequence[str], planned: bool
) -> str:
    """The question asked at the moment of the dose. What the start gate finds unmet (issue 15)
    is listed and never blocks (going ahead needs a reason): the therapist may know more.
    `planned`: given from the list (the session exists)."""
    how = (
        "Choose Not now, then Prepare… (Alt+P), to complete it."
        if planned
        else "To prepare first, choose Not now, plan the session, then Prepare… (Alt+P)."
    )
    warning = (
        "Unmet before the dose: " + "; ".join(still_open) + f". {how}\n\n" if still_open else ""
    )
    return (
        f"Start the dose clock for {code}: {mg:g} mg {route}, given now?\n\n"
        f"{warning}Press this at the moment the medicine is given."
    )


def music_question(report: PreflightReport | None) -> str | None:
    """The question asked before the dose when a track would not play (it would be skipped in
    the session); None when the music is fine or there is none."""
    if report is None or not report.failed:
        return None
    return (
        short_summary(report) + "\n\nGive the dose anyway? The session, its clock and "
        "its checks do not depend on the music."
    )
