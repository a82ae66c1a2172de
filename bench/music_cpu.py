"""CPU the app uses while a session plays music, beyond libVLC's own decoding.

    xvfb-run -a .venv/bin/python bench/music_cpu.py [--seconds 30] [--runs 3]

Two processes, each measured for the same wall time from /proc/<pid>/stat (utime + stime),
as a share of one core, medians over the runs:

  a. the real app in a rehearsal at x1 (the dose clock visible, music from the lozenge arc on
     libVLC's dummy output, the checks scheduled), started, left 5 s to settle, then measured;
  b. the floor: a bare python-vlc process playing the same arc's first track on one player with
     the same output (libVLC's decoding, nothing of ours).

The app's own share for the music is a - b (the fades, the 4 Hz ticks, the records); the target
(issue 4) is under 2 % of a core. Prints a markdown table; nothing is asserted. bench/run.py
runs the same measurement (bench_music) on its own Xvfb as part of the suite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")
TARGET_SHARE = 2.0
SETTLE_S = 5.0
ARC = "lozenge-75.arc.toml"

BARE_VLC = """
import sys, time, vlc
inst = vlc.Instance(["--quiet", "--no-video", "--aout=dummy"])
player = inst.media_player_new()
player.set_media(inst.media_new_path(sys.argv[1]))
player.audio_set_volume(70)
player.play()
time.sleep(3600)
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def measure(cmd: list[str], env: dict[str, str], seconds: float, settle: float = SETTLE_S) -> float:
    """% of one core that cmd's process used over `seconds` of wall time, after `settle`."""
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        time.sleep(settle)
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[:3]} exited early ({proc.returncode})")
        before, start = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(seconds)
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[:3]} exited while measured ({proc.returncode})")
        used, wall = cpu_seconds(proc.pid) - before, time.monotonic() - start
        return 100.0 * used / wall
    finally:
        proc.kill()
        proc.wait()


@dataclass
class MusicResult:
    app: list[float] = field(default_factory=list)  # % of one core, one value per run
    bare: list[float] = field(default_factory=list)


def first_track() -> Path:
    """The first track of the arc the rehearsal plays (the floor plays it too)."""
    arc_text = (ROOT / "playlists" / ARC).read_text(encoding="utf-8")
    return ROOT / "playlists" / arc_text.split('path = "', 1)[1].split('"', 1)[0]


def tracks_started(data: Path) -> int:
    """How many tracks the app's timeline says it started (its data folder, after the run)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from kapsession.errors import KapsessionError
    from kapsession.storage.store import Store

    try:
        store = Store.open(data, create=False)
    except KapsessionError:
        return 0  # no session stored (a dialog waited, or the app failed before its store)
    try:
        row = store.db.execute("SELECT count(*) FROM events WHERE kind = 'track_started'")
        return int(row.fetchone()[0])
    finally:
        store.close()


def bench_music(
    seconds: float, runs: int, display: str | None = None, tmp_root: Path | None = None
) -> MusicResult:
    """The app in a rehearsal with music, then the bare libVLC floor, `runs` times, each
    measured for `seconds`. `display`: the X display to use (default: $DISPLAY)."""
    python = sys.executable
    # KAPSESSION_ENCRYPTION=off: a new data folder would otherwise open the first-launch setup
    # dialog (encryption, PIN) and wait there, playing nothing.
    env = dict(
        os.environ,
        KAPSESSION_AUDIO_OUTPUT="dummy",
        KAPSESSION_ENCRYPTION="off",
        QT_QPA_PLATFORM="xcb",
    )
    if display is not None:
        env["DISPLAY"] = display
    track = first_track()
    if not track.is_file():
        # Without the audio both sides would idle and the figures would look fine.
        raise RuntimeError(
            f"{track.relative_to(ROOT)} is missing: run scripts/make_demo_audio.py first"
        )
    result = MusicResult()
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="kapsession-bench-music-", dir=tmp_root) as tmp:
            env_app = dict(env, XDG_CONFIG_HOME=f"{tmp}/config")
            cmd = [python, "-m", "ui.app", "--data-dir", f"{tmp}/data", "--rehearsal"]
            result.app.append(measure(cmd, env_app, seconds))
            if not tracks_started(Path(tmp) / "data"):
                raise RuntimeError("the app's rehearsal started no track: nothing was measured")
        result.bare.append(measure([python, "-c", BARE_VLC, str(track)], env, seconds))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    result = bench_music(args.seconds, args.runs)
    a, b = statistics.median(result.app), statistics.median(result.bare)
    rows = [
        ("app in a rehearsal, music playing", result.app, a),
        ("floor: bare libVLC playing the same audio", result.bare, b),
    ]
    print(f"CPU, % of one core, median of {args.runs} x {args.seconds:g} s (min-max)\n")
    print("| process | median | min-max |")
    print("|---|---|---|")
    for name, values, med in rows:
        print(f"| {name} | {med:.2f} % | {min(values):.2f}-{max(values):.2f} % |")
    share = a - b
    verdict = "met" if share < TARGET_SHARE else "missed"
    print(
        f"\nThe app's own share beyond libVLC's decoding: {share:.2f} % of a core "
        f"(target < {TARGET_SHARE:g} %: {verdict})."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
