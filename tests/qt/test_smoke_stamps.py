"""The start-up benchmark's contract, both sides, as real subprocesses (offscreen Qt): with
$KAPSESSION_SMOKE_STAMPS naming a file, `kapsession --smoke` and bench/bare_qt.py each append
`first_paint <ns>` and `ready <ns>` (time.monotonic_ns()) between their spawn and their exit,
and bench/startup.py reads them back. Nothing is timed against a limit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.startup import (
    BARE_QT,
    AppRunner,
    Launch,
    bench_env,
    kapsession_command,
    parse_stamps,
    timed_run,
)


def _check(timing_exit: int, first_paint: int | None, ready: int | None) -> None:
    assert first_paint is not None and ready is not None
    assert 0 < first_paint <= ready <= timing_exit


def test_the_bare_window_stamps_its_one_paint(tmp_path: Path) -> None:
    env = bench_env("offscreen", tmp_path / "pycache", tmp_path / "home")
    stamps = tmp_path / "bare.stamps"
    timing = timed_run([sys.executable, str(BARE_QT)], env, stamps)
    _check(timing.exit_ns, timing.first_paint_ns, timing.ready_ns)
    lines = parse_stamps(stamps.read_text())
    assert set(lines) == {"first_paint", "ready"}


def test_the_app_stamps_first_paint_and_ready_on_a_returning_launch(tmp_path: Path) -> None:
    env = bench_env("offscreen", tmp_path / "pycache", tmp_path / "home")
    runner = AppRunner(Launch.named("returning"), kapsession_command(), env, tmp_path)
    timing = runner.once()  # the second start: the first made the folder
    _check(timing.exit_ns, timing.first_paint_ns, timing.ready_ns)
    assert (tmp_path / "returning-data").is_dir()


def test_without_the_variable_nothing_is_written(tmp_path: Path) -> None:
    env = bench_env("offscreen", tmp_path / "pycache", tmp_path / "home")
    done = subprocess.run(
        [*kapsession_command(), "--smoke", "--data-dir", str(tmp_path / "data")],
        env=env,
        capture_output=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".stamps"]
