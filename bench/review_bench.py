"""The review screen on a long session: time from constructing the review window to its first
paint, against a floor from the same run (a bare QWidget of the same size, shown and painted).

    PYTHONPATH=. .venv/bin/python bench/review_bench.py [--runs 7] [--entries 10000]
    xvfb-run -a env PYTHONPATH=. .venv/bin/python bench/review_bench.py --platform xcb

It writes a 4-hour session with 10,000 timeline entries (vitals every minute, notes, checks,
observations, music by phase and track; bench/review_data.py) into a real SQLite file, then
runs each measurement in a fresh process (imports done before the clock starts): the floor
first, then the review window, reading the session from the file inside the timed part.
"First paint" is when the last of the window's big views (the timeline and the entry list)
has been painted; "construct" is the part until `ReviewWindow(...)` returns (read SQLite, build
the model, the timeline, the list and the panels), "paint" the rest (show, lay out, paint).
Prints a markdown table with medians; the target (<= 250 ms, issue 13) is reported, not
enforced.

Profiling the child: REVIEW_BENCH_PROFILE=1 prints a cProfile of the timed part (construct to
first paint) to stderr; keep the session with --keep DIR and run one child at a time:
    PYTHONPATH=. .venv/bin/python bench/review_bench.py --runs 1 --keep /tmp/review
    REVIEW_BENCH_PROFILE=1 QT_QPA_PLATFORM=offscreen PYTHONPATH=. \
        .venv/bin/python bench/review_bench.py --child /tmp/review/data 1"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # bench.review_data, when imported by bench/run.py
TARGET_MS = 250.0


def child(data_dir: str, session_id: int) -> None:
    """One measurement: prints {"floor_ms", "review_ms", "construct_ms", "build_ms", ...} as
    JSON (wall and CPU milliseconds)."""
    from PySide6.QtCore import QCoreApplication, QEvent, QObject
    from PySide6.QtWidgets import QApplication, QWidget

    app = QApplication(sys.argv[:1])
    from kapsession.integration.review import build_review
    from kapsession.storage.store import Store
    from ui import theme
    from ui.review import ReviewWindow
    from ui.settings import Settings

    theme.apply(app)
    store = Store.open(Path(data_dir), create=False)

    class Painted(QObject):
        def __init__(self, watch: list[QWidget]) -> None:
            super().__init__()
            self.waiting = set(map(id, watch))
            self.done_at: float | None = None
            self.cpu_at = 0.0
            for w in watch:
                w.installEventFilter(self)

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() != QEvent.Type.Paint or id(watched) not in self.waiting:
                return False
            # The first paint of this widget, done here and now (the widget's own handlers and
            # filters, this one removed), so that "painted" is stamped when the last of them has
            # painted: not after whatever else the event loop runs next (a zero-time timer here
            # once counted the timeline's second repaint, the marker re-pick, when the list
            # happened to paint last).
            watched.removeEventFilter(self)
            QCoreApplication.sendEvent(watched, event)
            self.waiting.discard(id(watched))
            if not self.waiting:
                self._done()
            return True

        def _done(self) -> None:
            self.done_at = time.perf_counter()
            self.cpu_at = time.process_time()

    def until_painted(painted: Painted) -> None:
        give_up = time.perf_counter() + 10
        while painted.done_at is None and time.perf_counter() < give_up:
            app.processEvents()
        if painted.done_at is None:
            raise SystemExit("no paint within 10 s")

    # Warm-up: Qt's first window pays for fonts and the style; neither side should.
    warm = QWidget()
    warm.resize(200, 100)
    warm.show()
    until_painted(Painted([warm]))
    warm.close()

    start, cpu = time.perf_counter(), time.process_time()
    bare = QWidget()
    bare.resize(1280, 800)
    watch = Painted([bare])
    bare.show()
    until_painted(watch)
    floor_ms = ((watch.done_at or 0) - start) * 1000
    floor_cpu_ms = (watch.cpu_at - cpu) * 1000
    bare.close()

    start = time.perf_counter()
    build_review(store, session_id)
    build_ms = (time.perf_counter() - start) * 1000

    settings = Settings()  # the app builds its one Settings at start, not when a review opens
    profile = None
    if os.environ.get("REVIEW_BENCH_PROFILE"):
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    start, cpu = time.perf_counter(), time.process_time()
    window = ReviewWindow(store, session_id, settings=settings)
    window.resize(1280, 800)
    constructed, constructed_cpu = time.perf_counter(), time.process_time()
    watch = Painted([window.plot.viewport(), window.entries.viewport()])
    window.show()
    until_painted(watch)
    review_ms = ((watch.done_at or 0) - start) * 1000
    review_cpu_ms = (watch.cpu_at - cpu) * 1000
    if profile is not None:
        import pstats

        profile.disable()
        pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
    markers = len(window.review.markers) if window.review else 0
    entries = window.model.rowCount()
    print(
        json.dumps(
            {
                "floor_ms": floor_ms,
                "floor_cpu_ms": floor_cpu_ms,
                "review_ms": review_ms,
                "review_cpu_ms": review_cpu_ms,
                "construct_ms": (constructed - start) * 1000,
                "construct_cpu_ms": (constructed_cpu - cpu) * 1000,
                "build_ms": build_ms,
                "markers": markers,
                "entries": entries,
            }
        )
    )
    sys.stdout.flush()
    # Leave without tearing widgets down: the measurement is done.
    os._exit(0)


class ReviewFailed(Exception):
    """A measuring process failed; the message carries its stderr tail."""


def make_session(folder: Path, entries: int) -> tuple[int, int]:
    """Writes the benchmark's 4-hour session into a new store at folder (bench/review_data.py);
    returns (session id, entries written)."""
    from bench.review_data import T0, big_session
    from kapsession.clock import FakeClock
    from kapsession.storage.store import Store

    store = Store.open(folder)
    try:
        session_id = big_session(store, FakeClock(T0), entries)
        return session_id, len(store.events(session_id))
    finally:
        store.close()


def bench_review(folder: Path, session_id: int, runs: int, platform: str) -> list[dict[str, float]]:
    """`runs` measurements, each in a fresh process: the floor's and the review window's first
    paint (ms, wall and CPU), build_review's time, markers and list rows (see child)."""
    env = dict(os.environ, QT_QPA_PLATFORM=platform, PYTHONPATH=str(ROOT))
    results = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(folder), str(session_id)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        if out.returncode != 0:
            raise ReviewFailed(out.stderr[-2000:])
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--platform", default=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    parser.add_argument("--child", nargs=2, metavar=("DATA_DIR", "SESSION"))
    parser.add_argument(
        "--keep", type=Path, metavar="DIR", help="write the session into DIR/data and keep it"
    )
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        folder = (args.keep or Path(tmp)) / "data"
        started = time.perf_counter()
        session_id, written = make_session(folder, args.entries)
        print(
            f"generated session {session_id}: {written} entries in "
            f"{time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        try:
            results = bench_review(folder, session_id, args.runs, args.platform)
        except ReviewFailed as exc:
            print(exc, file=sys.stderr)
            return 1

    def med(key: str) -> float:
        return statistics.median(r[key] for r in results)

    def spread(key: str) -> str:
        values = [r[key] for r in results]
        return f"{min(values):.0f}–{max(values):.0f}"

    floor, review, build = med("floor_ms"), med("review_ms"), med("build_ms")
    verdict = "met" if review <= TARGET_MS else "**missed**"
    load = os.getloadavg()[0]
    print(
        f"\nReview screen, {written} entries, {args.runs} runs, QT_QPA_PLATFORM={args.platform}\n"
    )
    print("| what | median ms | min–max ms | vs floor |")
    print("|---|---|---|---|")
    print(
        f"| floor: bare QWidget 1280×800, shown and painted | {floor:.0f} | {spread('floor_ms')} | 1.0× |"
    )
    print(
        f"| review window: construct (read + model) to first paint | **{review:.0f}** | "
        f"{spread('review_ms')} | {review / floor:.1f}× |"
    )
    print(
        f"| same, CPU time of the process (robust to other load) | {med('review_cpu_ms'):.0f} | "
        f"{spread('review_cpu_ms')} | floor CPU {med('floor_cpu_ms'):.0f} ms |"
    )
    print(
        f"| of which: construct (`ReviewWindow(...)` returns) | {med('construct_ms'):.0f} | "
        f"{spread('construct_ms')} | CPU {med('construct_cpu_ms'):.0f} ms |"
    )
    paint = [r["review_ms"] - r["construct_ms"] for r in results]
    paint_cpu = [r["review_cpu_ms"] - r["construct_cpu_ms"] for r in results]
    print(
        f"| of which: show, lay out and paint | {statistics.median(paint):.0f} | "
        f"{min(paint):.0f}–{max(paint):.0f} | CPU {statistics.median(paint_cpu):.0f} ms |"
    )
    print(
        f"| build_review alone (read SQLite, build the model), timed before | {build:.0f} | "
        f"{spread('build_ms')} | |"
    )
    print(
        f"\nmarkers: {results[0]['markers']}, list rows: {results[0]['entries']}; "
        f"target ≤ {TARGET_MS:.0f} ms (wall): {verdict}; load average at the end: {load:.1f} "
        f"on {os.cpu_count()} CPUs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
