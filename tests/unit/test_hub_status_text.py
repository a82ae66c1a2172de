"""The clinic hub's line on the live and home screens, in words (Qt-free): worked examples."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kapsession.hub.status_text import describe, since_text, waiting_text
from kapsession.hub.worker import SyncStatus

NOW = datetime(2026, 12, 6, 13, 30, tzinfo=UTC)  # 14:30 in Berlin
BERLIN = "Europe/Berlin"


def test_synced_is_one_quiet_line() -> None:
    line = describe(SyncStatus(True, 0, None, None), NOW, BERLIN)
    assert (line.text, line.tone) == ("clinic hub: synced", "quiet")
    assert line.detail == "Every entry on this laptop is on the clinic hub."


def test_before_the_first_round_it_says_it_is_connecting() -> None:
    assert describe(None, NOW, BERLIN).text == "clinic hub: connecting…"


@pytest.mark.parametrize(
    ("waiting", "text", "detail"),
    [
        (37, "clinic hub: offline since 14:02 · 37 waiting", "37 entries wait on this laptop;"),
        (1, "clinic hub: offline since 14:02 · 1 waiting", "1 entry waits on this laptop;"),
        (0, "clinic hub: offline since 14:02", "Nothing waits to be sent."),
    ],
)
def test_offline_says_since_when_in_local_time_and_how_many_wait(
    waiting: int, text: str, detail: str
) -> None:
    since = datetime(2026, 12, 6, 13, 2, tzinfo=UTC)  # 14:02 in Berlin
    line = describe(SyncStatus(False, waiting, since, None), NOW, BERLIN)
    assert (line.text, line.tone) == (text, "offline")
    assert "cannot be reached since 14:02 (local time)" in line.detail and detail in line.detail


def test_offline_since_another_day_names_the_day() -> None:
    since = datetime(2026, 12, 5, 22, 40, tzinfo=UTC)  # Sat 23:40 in Berlin
    assert since_text(since, NOW, BERLIN) == "Sat 5 Dec 23:40"
    # Past midnight in Berlin but not in UTC: the local day decides.
    late = datetime(2026, 12, 5, 23, 10, tzinfo=UTC)
    assert since_text(late, NOW, BERLIN) == "00:10"
    assert since_text(late, NOW, "UTC") == "Sat 5 Dec 23:10"
    assert since_text(late, NOW, "Not/AZone") == "Sat 5 Dec 23:10", "an unknown zone: UTC"


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("login", "the hub refused this room's login"),
        ("schema", "the hub is newer than this kapsession"),
        ("conflict", "the hub holds other entries under this laptop's ids"),
        ("room", "the hub refused this room's rows"),
        ("tls", "the server is not the clinic's hub"),
        ("unexpected", "a fault needs attention"),
    ],
)
def test_a_fault_that_is_not_the_network_is_one_short_line_with_the_detail_on_hover(
    fault: str, words: str
) -> None:
    problem = "The clinic hub at 127.0.0.1:5432/kap refused the login 'room_a'."
    line = describe(SyncStatus(False, 3, None, problem, fault), NOW, BERLIN)
    assert (line.text, line.tone) == (f"clinic hub: not syncing: {words} · 3 waiting", "fault")
    assert line.detail.startswith(problem + " 3 entries wait on this laptop; nothing is lost.")
    assert "\n" not in line.text


def test_a_fault_with_nothing_waiting_says_nothing_is_lost() -> None:
    line = describe(SyncStatus(False, 0, None, "Refused.", "login"), NOW, BERLIN)
    assert line.text == "clinic hub: not syncing: the hub refused this room's login"
    assert line.detail == "Refused. Nothing is lost. The session goes on as usual."


def test_entries_written_during_a_round_are_being_sent() -> None:
    assert describe(SyncStatus(False, 1, None, None), NOW, BERLIN).detail == (
        "1 entry is being sent to the clinic hub."
    )
    assert describe(SyncStatus(False, 4, None, None), NOW, BERLIN).text == (
        "clinic hub: sending · 4 waiting"
    )


def test_what_waits_is_counted_in_words_for_the_command_line_too() -> None:
    assert waiting_text(1) == "1 entry waits on this laptop"
    assert waiting_text(37) == "37 entries wait on this laptop"
