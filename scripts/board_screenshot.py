"""The room board's screenshot (docs/screenshots/board.png) from the real `kapsession board`, on
synthetic data only, checked as scripts/screenshots.py checks every shot (it uses its Display and
Shots): the window captured must be the active one, titled "kapsession · room board", belong to
the board's process, and have settled.

    .venv/bin/python scripts/board_screenshot.py [OUT_DIR]     (default docs/screenshots)

A private PostgreSQL cluster on loopback (tests/helpers/postgres.py, as the hub tests) holds a hub
made by `kapsession hub init` with four rooms, each synced from a real data folder
(tests/hub/board_rooms.py): cedar with its 15-minute check due, willow with an open SpO2 alert,
birch with its check late, sage (every check answered) whose last sync was ten minutes ago. The board's texts, read through its
KAPSESSION_BOARD_STATE hook, must say so before the capture.

Then the hub is stopped and cedar's laptop opens its running session: the live screen's clinic hub
line goes "offline since HH:MM" and counts the two notes typed while the hub is away
(docs/screenshots/hub-offline.png; the window checked as every other shot)."""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "scripts")]

import screenshots  # noqa: E402
from helpers import postgres  # noqa: E402

from kapsession.cli import commands  # noqa: E402
from tests.hub.board_rooms import join_and_sync, make_room  # noqa: E402
from ui.board.window import STATE_ENV, TITLE  # noqa: E402

ROOMS = {
    "cedar": ("C-014", 16.5, {"phase": "onset", "music": True}),
    "willow": ("C-027", 10.5, {"alert": True, "phase": "come-up", "music": True}),
    "birch": ("C-031", 21.5, {"phase": "peak", "music": True}),
    "sage": ("C-042", 40.5, {"phase": "return", "answered": True}),
}


def _expected(texts: dict) -> bool:
    rooms = texts.get("rooms", {})
    return (
        set(rooms) == set(ROOMS)
        and rooms["cedar"]["check"].startswith("DUE")
        and rooms["willow"]["alerts"].startswith("ALERT")
        and rooms["birch"]["check"].startswith("LATE")
        and rooms["sage"]["check"].startswith("next check")
        and rooms["sage"]["offline"].startswith("offline since")
    )


def make_hub(cluster: postgres.Cluster, work: Path) -> str:
    """The hub with its four rooms synced; the board's login."""
    db = cluster.create_database()
    key = work / "clinic.key"
    argv = ["hub", "init", "--dsn", cluster.admin_dsn(db), "--clinic-key", str(key)]
    for room in ROOMS:
        argv += ["--room", room]
    out = io.StringIO()
    if commands.run_command(commands.parse_args(argv), out) != 0:
        raise screenshots.ShotFailed(f"hub init failed: {out.getvalue()}")
    logins = {}
    for line in (work / "clinic.key.logins").read_text().splitlines():
        who, _, dsn = line.partition(": ")
        logins[who] = dsn.replace(f"host={cluster.sockets}", "host=127.0.0.1")
    for room, (code, minutes, extra) in ROOMS.items():
        make_room(work / room, code, minutes, **extra)  # type: ignore[arg-type]
        join_and_sync(work / room, logins[f"room {room}"], room, key)
    import psycopg

    with psycopg.connect(cluster.admin_dsn(db), autocommit=True) as conn:
        # Room sage's laptop went away ten minutes ago (its last round then).
        conn.execute(
            "UPDATE room_sync SET synced_at = now() - interval '10 minutes' WHERE room = 'sage'"
        )
    return logins["board"]


def offline_room(shots: screenshots.Shots, folder: Path) -> None:
    """Cedar's laptop with the hub away: its live screen, two notes typed, the line offline."""
    live = f"kapsession · {ROOMS['cedar'][0]}"
    with shots.app(
        "--data-dir",
        str(folder),
        title=live,
        KAPSESSION_ENCRYPTION="off",
        KAPSESSION_CLINICIAN=screenshots.THERAPIST[0],
        KAPSESSION_CLINICIAN_PIN=screenshots.THERAPIST[3],
    ):
        shots.type(live, "q: the room feels far away", enter=True)
        shots.type(live, "breathing slower", enter=True)
        # The worker's first round after the start finds the hub away; its line follows.
        time.sleep(3.0)
        shots.shot("hub-offline", live)
        # The session keeps running: Ctrl+Q asks first (Alt+Y answers Yes).
        shots.keys(live, "ctrl+q")
        shots.keys("Close kapsession?", "alt+y")
        assert shots.proc is not None
        shots.proc.wait(screenshots.STEP_S)


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    out = Path(args[0] if args else ROOT / "docs" / "screenshots").resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kapsession-board-shot-") as tmp:
        work = Path(tmp)
        state = work / "board.json"
        env = {
            **os.environ,
            "XDG_CONFIG_HOME": str(work / "config"),
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            STATE_ENV: str(state),
        }
        env.pop("QT_QPA_PLATFORM", None)
        display = screenshots.Display(env)
        shots = screenshots.Shots(env, out, None)
        try:
            with postgres.cluster() as cluster:
                dsn = make_hub(cluster, work)
                display.start()
                with shots.app("board", "--dsn", dsn, title=TITLE):
                    deadline = time.monotonic() + screenshots.START_S
                    while True:
                        try:
                            texts = json.loads(state.read_text())
                        except (OSError, ValueError):
                            texts = {}
                        if _expected(texts):
                            break
                        if time.monotonic() > deadline:
                            raise screenshots.ShotFailed(
                                f"shot board: the board does not show the four rooms as made: {texts}"
                            )
                        time.sleep(0.2)
                    shots.shot("board", TITLE)
                    shots.quit(TITLE)
                cluster.stop()
                offline_room(shots, work / "cedar")
        except screenshots.ShotFailed as exc:
            print(f"board screenshot: FAILED: {exc}", file=sys.stderr)
            return 1
        finally:
            display.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
