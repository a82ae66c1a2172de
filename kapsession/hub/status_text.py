"""The words of the live and home screens' clinic-hub line, decided here without Qt: one short,
dim line ("clinic hub: synced", "clinic hub: offline since 14:02 · 37 waiting", or what stops
the sync when it is not the network) and its detail, shown on hover. Times are the laptop's
local time (the zone named by kapsession.clock.local_zone_name)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from kapsession.hub.worker import SyncStatus

PREFIX = "clinic hub: "

# A fault that is not the network, in a few words; the whole line is in the detail.
FAULT_WORDS = {
    "login": "the hub refused this room's login",
    "tls": "the server is not the clinic's hub",
    "schema": "the hub is newer than this kapsession",
    "conflict": "the hub holds other entries under this laptop's ids",
    "room": "the hub refused this room's rows",
    "folder": "the data folder cannot be read",
}
OTHER_FAULT = "a fault needs attention"


@dataclass(frozen=True)
class HubLine:
    text: str  # the one short line
    detail: str  # on hover
    tone: str  # "quiet" (synced, sending), "offline" or "fault"


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def since_text(at: datetime, now: datetime, zone: str) -> str:
    """'14:02' today (local time); 'Sat 5 Dec 14:02' on another day."""
    local, today = at.astimezone(_zone(zone)), now.astimezone(_zone(zone))
    if local.date() == today.date():
        return f"{local:%H:%M}"
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def entries(n: int) -> str:
    return "1 entry" if n == 1 else f"{n} entries"


def waiting_text(n: int) -> str:
    """'37 entries wait on this laptop' / '1 entry waits on this laptop'."""
    return f"{entries(n)} {'waits' if n == 1 else 'wait'} on this laptop"


def describe(status: SyncStatus | None, now: datetime, zone: str) -> HubLine:
    """The line for the worker's latest status (None: no round has finished yet)."""
    if status is None:
        return HubLine(
            PREFIX + "connecting…",
            "The first sync with the clinic hub has not finished yet.",
            "quiet",
        )
    count = f" · {status.waiting} waiting" if status.waiting else ""
    if status.problem is not None:
        words = FAULT_WORDS.get(status.fault or "", OTHER_FAULT)
        kept = (
            f" {waiting_text(status.waiting)}; nothing is lost."
            if status.waiting
            else " Nothing is lost."
        )
        return HubLine(
            f"{PREFIX}not syncing: {words}{count}",
            f"{status.problem}{kept} The session goes on as usual.",
            "fault",
        )
    if status.offline_since is not None:
        since = since_text(status.offline_since, now, zone)
        waiting = (
            f"{waiting_text(status.waiting)}; they are sent when it is back."
            if status.waiting
            else "Nothing waits to be sent."
        )
        return HubLine(
            f"{PREFIX}offline since {since}{count}",
            f"The clinic hub cannot be reached since {since} (local time). {waiting} "
            "The session goes on as usual.",
            "offline",
        )
    if status.synced:
        return HubLine(
            PREFIX + "synced", "Every entry on this laptop is on the clinic hub.", "quiet"
        )
    return HubLine(
        f"{PREFIX}sending{count}",
        f"{entries(status.waiting)} {'is' if status.waiting == 1 else 'are'} being sent "
        "to the clinic hub.",
        "quiet",
    )
