"""The start-up benchmark's pure parts: the stamps a --smoke run writes, the durations taken from
them, and the rows (which measure carries the target, the ratio against the same run's floor).
Nothing here is timed."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

from bench.startup import (
    Launch,
    LaunchResult,
    Timing,
    durations,
    parse_stamps,
    timing_of,
)

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _script(monkeypatch: pytest.MonkeyPatch, name: str) -> ModuleType:
    # bench/run.py and its helpers are scripts importing their siblings by plain name.
    monkeypatch.syspath_prepend(str(BENCH))
    for module in ("run", "startup", "cold_start", "bundle"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    return importlib.import_module(name)


@pytest.fixture
def run_module(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    return _script(monkeypatch, "run")


def test_stamps_are_parsed_and_the_first_of_each_name_counts() -> None:
    text = "first_paint 100\n\nready 250\nready 300\n"
    assert parse_stamps(text) == {"first_paint": 100, "ready": 250}
    assert parse_stamps("") == {}


@pytest.mark.parametrize("line", ["ready", "ready 12 13", "ready -5", "ready 1.5", "ready soon"])
def test_a_malformed_stamps_line_is_named(line: str) -> None:
    with pytest.raises(ValueError, match="line 2 is not `name <ns>`"):
        parse_stamps(f"first_paint 1\n{line}\n")


def test_timing_counts_from_the_spawn_and_leaves_a_missing_stamp_out() -> None:
    assert timing_of(1_000, 9_000, {"first_paint": 3_000, "ready": 5_000}) == Timing(
        8_000, 2_000, 4_000
    )
    assert timing_of(1_000, 9_000, {"first_paint": 3_000}) == Timing(8_000, 2_000, None)


@pytest.mark.parametrize("at", [999, 9_001])
def test_a_stamp_outside_the_run_is_a_clock_mix_up(at: int) -> None:
    with pytest.raises(ValueError, match="outside the run"):
        timing_of(1_000, 9_000, {"ready": at})


def test_durations_are_none_when_any_run_lacks_the_stamp() -> None:
    runs = [Timing(10, 4, 6), Timing(12, 5, 7)]
    assert durations(runs, "exit") == [10, 12]
    assert durations(runs, "ready") == [6, 7]
    assert durations([*runs, Timing(11)], "first_paint") is None
    assert durations([], "exit") is None


def test_launch_names() -> None:
    assert Launch.named("returning-encrypted") == Launch("returning-encrypted", True, True)
    assert Launch.named("first") == Launch("first", False, False)
    env = Launch.named("first-encrypted").env({"A": "1"})
    assert env["A"] == "1" and env["KAPSESSION_PASSPHRASE"]
    assert "KAPSESSION_PASSPHRASE" not in Launch.named("returning").env({})
    with pytest.raises(ValueError, match="unknown launch"):
        Launch.named("warm")


def _result(app: list[Timing], bare: list[Timing]) -> LaunchResult:
    return LaunchResult(bare=bare, app=app)


MS = 1_000_000
BARE = [Timing(110 * MS, 100 * MS, 100 * MS), Timing(130 * MS, 120 * MS, 120 * MS)]


def test_unencrypted_rows_carry_the_target_on_ready(run_module: ModuleType) -> None:
    app = [Timing(400 * MS, 150 * MS, 330 * MS), Timing(420 * MS, 170 * MS, 330 * MS)]
    rows = run_module.startup_rows({"returning": _result(app, BARE)}, "offscreen")
    by_what = {(r.benchmark.rsplit(": ", 1)[1], r.what.startswith("floor")): r for r in rows}
    ready = by_what[("to ready", False)]
    assert ready.target == 1.5 and ready.summary.median == 330
    assert ready.floor.median == 110  # the floor's one paint
    assert ready.missed  # 3x
    assert "**3.00×**" in ready.cells() and "≤ 1.5× (**missed**)" in ready.cells()
    paint = by_what[("to first paint", False)]
    assert paint.target is None and not paint.missed and paint.note == "informative"
    assert by_what[("to exit", False)].floor.median == 120  # exit against the floor's exit
    assert by_what[("to exit", True)].summary.median == 120


def test_encrypted_rows_carry_the_target_on_first_paint(run_module: ModuleType) -> None:
    app = [Timing(900 * MS, 160 * MS, 800 * MS), Timing(900 * MS, 170 * MS, 800 * MS)]
    rows = run_module.startup_rows({"first-encrypted": _result(app, BARE)}, "xcb")
    targeted = [r for r in rows if r.target is not None]
    assert len(targeted) == 1 and targeted[0].benchmark.endswith("to first paint")
    assert targeted[0].target == 2.0 and not targeted[0].missed  # 165 / 110 = 1.5x


def test_an_app_without_stamps_says_so(run_module: ModuleType) -> None:
    app = [Timing(400 * MS), Timing(420 * MS)]
    rows = run_module.startup_rows({"first": _result(app, BARE)}, "offscreen")
    unstamped = [r for r in rows if r.summary is None]
    assert {r.benchmark.rsplit(": ", 1)[1] for r in unstamped} == {"to first paint", "to ready"}
    assert all("not stamped" in r.cells()[-1] for r in unstamped)
    exit_row = next(r for r in rows if r.benchmark.endswith("to exit") and r.floor is not None)
    assert exit_row.summary.median == 410


def test_quick_leaves_the_bundle_out_unless_named(run_module: ModuleType) -> None:
    assert "bundle" not in run_module.parse_args(["--quick"]).only
    assert run_module.parse_args(["--quick", "--only", "bundle"]).only == ("bundle",)
    assert "bundle" in run_module.parse_args([]).only
    with pytest.raises(SystemExit):
        run_module.parse_args(["--launches", "warm"])


def test_eviction_asks_about_every_file_but_git_and_skips_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fadvise_evict = _script(monkeypatch, "cold_start").fadvise_evict

    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    for name in ("pkg/a.py", "pkg/sub/b.so", ".git/HEAD", "top.txt"):
        (tmp_path / name).write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "top.txt")
    # The same root twice, once through a symlink, counts once.
    (tmp_path.parent / f"{tmp_path.name}-alias").symlink_to(tmp_path)
    assert fadvise_evict([tmp_path, tmp_path.parent / f"{tmp_path.name}-alias"]) == 3


def test_cpu_time_gets_its_own_informative_row(run_module: ModuleType) -> None:
    bare = [
        Timing(110 * MS, 100 * MS, 100 * MS, 80 * MS),
        Timing(130 * MS, 120 * MS, 120 * MS, 90 * MS),
    ]
    app = [
        Timing(400 * MS, 150 * MS, 330 * MS, 255 * MS),
        Timing(420 * MS, 170 * MS, 330 * MS, 255 * MS),
    ]
    rows = run_module.startup_rows({"returning": _result(app, bare)}, "offscreen")
    cpu = [r for r in rows if r.benchmark.endswith("CPU to exit")]
    assert len(cpu) == 1 and cpu[0].target is None and "85 ms" in cpu[0].what
    assert "**3.00×**" in cpu[0].cells()
    # Without CPU figures (the earlier rows' runs), no such row.
    assert not [
        r
        for r in run_module.startup_rows({"first": _result(app, BARE)}, "x")
        if "CPU" in r.benchmark
    ]
