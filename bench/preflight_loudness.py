"""The music pre-flight of an arc with 45 minutes of audio, loudness analysis included (issue 17):
the first time (nothing cached: every track decoded by ffmpeg into libebur128) and cached (the
levels read back by content hash), against the floor measured in the same run: the pre-flight
without loudness (the libVLC parse and decode check alone, as before issue 17).

    .venv/bin/python bench/preflight_loudness.py [--runs 5]

The audio (9 tracks of 5 minutes: Ogg Vorbis, FLAC and MP3, noise and tones at levels from
about -40 to -10 LUFS) is made once with sox into a temp folder and kept there. Each run is a
fresh process (`--child MODE`), the three modes interleaved run by run; each child reports its
wall time and its CPU time, its own plus its children's (ffmpeg), from getrusage. A fourth row:
while the first-time analysis runs on a worker thread, as in the app, how late a 5 ms timer on
the main thread fired at worst (the GIL the analysis holds in libebur128's calls): what the GUI
thread would feel. Prints a markdown table; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AUDIO = Path(tempfile.gettempdir()) / "kapsession-bench-loudness"
TRACK_S = 300
TRACKS = [
    ("a.ogg", ["pinknoise", "vol", "0.034"]),
    ("b.flac", ["pinknoise", "vol", "0.24"]),
    ("c.mp3", ["sine", "440", "sine", "660", "vol", "0.4"]),
    ("d.ogg", ["brownnoise", "vol", "0.3"]),
    ("e.flac", ["sine", "220", "sine", "330", "vol", "0.05"]),
    ("f.mp3", ["pinknoise", "vol", "0.09"]),
    ("g.ogg", ["whitenoise", "vol", "0.05"]),
    ("h.flac", ["pinknoise", "vol", "0.5"]),
    ("i.mp3", ["brownnoise", "vol", "0.1"]),
]
MODES = ("floor", "first", "cached")


def make_audio() -> list[Path]:
    AUDIO.mkdir(exist_ok=True)
    paths = []
    for name, synth in TRACKS:
        path = AUDIO / name
        if not path.exists():
            part = path.with_name("part-" + name)
            subprocess.run(
                ["sox", "-n", "-r", "44100", "-c", "2", str(part), "synth", str(TRACK_S), *synth],
                check=True,
                capture_output=True,
            )
            part.rename(path)
        paths.append(path)
    return paths


def cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def child(mode: str, cache_dir: Path) -> None:
    from kapsession.music import r128
    from kapsession.music.preflight import check_arc_tracks

    paths = make_audio()
    cache = r128.LevelCache.in_folder(cache_dir) if mode != "floor" else None
    if mode == "stall":
        late = [0.0]
        done = threading.Event()

        def analyse() -> None:
            check_arc_tracks(paths, 45, r128.LevelCache.in_folder(cache_dir))
            done.set()

        worker = threading.Thread(target=analyse)
        start = time.perf_counter()
        worker.start()
        while not done.is_set():
            before = time.perf_counter()
            time.sleep(0.005)
            late[0] = max(late[0], time.perf_counter() - before - 0.005)
        worker.join()
        print(json.dumps({"wall": time.perf_counter() - start, "cpu": cpu_s(), "late": late[0]}))
        return
    start_cpu, start = cpu_s(), time.perf_counter()
    report = check_arc_tracks(paths, 45, cache)
    wall, cpu = time.perf_counter() - start, cpu_s() - start_cpu
    measured = sum(p.loudness_lufs is not None for p in report.probes)
    print(json.dumps({"wall": wall, "cpu": cpu, "measured": measured, "ok": report.counts["ok"]}))


def run_child(mode: str, cache_dir: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--cache", str(cache_dir)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", choices=(*MODES, "stall"))
    parser.add_argument("--cache", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.cache)
        return
    paths = make_audio()
    seconds = TRACK_S * len(paths)
    results: dict[str, list[dict[str, float]]] = {m: [] for m in (*MODES, "stall")}
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm"
        warm.mkdir()
        run_child("floor", warm)  # warm-up: page cache, byte code
        run_child("first", warm)  # ... and the cache the "cached" runs read
        for i in range(args.runs):
            for mode in MODES:
                cache_dir = warm
                if mode == "first":
                    cache_dir = Path(tmp) / f"fresh-{i}"
                    cache_dir.mkdir()
                results[mode].append(run_child(mode, cache_dir))
        stall_dir = Path(tmp) / "stall"
        stall_dir.mkdir()
        results["stall"].append(run_child("stall", stall_dir))

    def med(mode: str, key: str) -> float:
        return statistics.median(r[key] for r in results[mode])

    floor_wall, floor_cpu = med("floor", "wall"), med("floor", "cpu")
    print(
        f"Pre-flight of {len(paths)} tracks, {seconds // 60} minutes of audio, "
        f"{args.runs} runs each, interleaved\n"
    )
    print("| What runs | N | Wall median | CPU median | vs floor (wall) | vs floor (CPU) |")
    print("|---|---|---|---|---|---|")
    names = {
        "floor": "floor: pre-flight without loudness (libVLC parse + decode check)",
        "first": "pre-flight with loudness, nothing cached (ffmpeg + libebur128, every track)",
        "cached": "pre-flight with loudness, cached (content hashes, levels read back)",
    }
    for mode in MODES:
        wall, cpu = med(mode, "wall"), med(mode, "cpu")
        print(
            f"| {names[mode]} | {len(results[mode])} | {wall:.2f} s | {cpu:.2f} s | "
            f"{wall / floor_wall:.2f}x | {cpu / floor_cpu:.2f}x |"
        )
    stall = results["stall"][0]
    print(
        f"\nWhile the first-time analysis ran on a worker thread ({stall['wall']:.1f} s), a 5 ms "
        f"timer on the main thread fired at worst {stall['late'] * 1000:.1f} ms late."
    )
    print(f"Measured tracks per run: {[int(r['measured']) for r in results['first']]}")


if __name__ == "__main__":
    os.environ.setdefault("KAPSESSION_AUDIO_OUTPUT", "dummy")
    main()
