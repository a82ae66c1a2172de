"""CPU the app uses while a session plays music, beyond libVLC's own decoding.

    xvfb-run -a .venv/bin/python bench/music_cpu.py [--seconds 30] [--runs 3]

Three processes, each measured for the same wall time from /proc/<pid>/stat (utime + stime),
as a share of one core, medians over the runs:

  a. the real app in a rehearsal at x1 (the dose clock visible, music from the lozenge arc on
     libVLC's dummy output, the checks scheduled), started, left 5 s to settle, then measured;
  b. the floor: a bare python-vlc process playing the same arc's first track on one player with
     the same output (libVLC's decoding, nothing of ours).

The app's own share for the music is a - b (the fades, the 4 Hz ticks, the records); the target
(issue 4) is under 2 % of a core. Prints a markdown table; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")
TARGET_SHARE = 2.0

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


def measure(cmd: list[str], env: dict[str, str], seconds: float, settle: float = 5.0) -> float:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(settle)
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[:3]} exited early ({proc.returncode})")
        before, start = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(seconds)
        used, wall = cpu_seconds(proc.pid) - before, time.monotonic() - start
        return 100.0 * used / wall
    finally:
        proc.kill()
        proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    python = sys.executable
    env = dict(os.environ, KAPSESSION_AUDIO_OUTPUT="dummy", QT_QPA_PLATFORM="xcb")
    arc_text = (ROOT / "playlists" / "lozenge-75.arc.toml").read_text(encoding="utf-8")
    first_track = ROOT / "playlists" / arc_text.split('path = "', 1)[1].split('"', 1)[0]
    app: list[float] = []
    bare: list[float] = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            env_app = dict(env, XDG_CONFIG_HOME=f"{tmp}/config")
            cmd = [python, "-m", "ui.app", "--data-dir", f"{tmp}/data", "--rehearsal"]
            app.append(measure(cmd, env_app, args.seconds))
        bare.append(measure([python, "-c", BARE_VLC, str(first_track)], env, args.seconds))
    a, b = statistics.median(app), statistics.median(bare)
    rows = [
        ("app in a rehearsal, music playing", app, a),
        ("floor: bare libVLC playing the same audio", bare, b),
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
