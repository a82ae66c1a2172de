"""The demo audio scripts/make_demo_audio.py generates (normally done once by scripts/bootstrap.sh):
every phase has tracks, every file is there, as long as the manifest says, and decodes."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "make_demo_audio.py"
AUDIO = ROOT / "playlists" / "audio"
HAVE_SOX = shutil.which("sox") is not None and shutil.which("soxi") is not None


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_demo_audio", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


mda = _load_script()


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    """The real set in playlists/audio; generated here only if set-up has not done it (~25 s)."""
    if not mda.up_to_date(AUDIO, mda.build_tracks()):
        if not HAVE_SOX:
            pytest.skip("sox is needed to generate the demo audio (scripts/bootstrap.sh app)")
        assert mda.main(["--quiet"]) == 0
    data: dict[str, Any] = json.loads((AUDIO / "manifest.json").read_text(encoding="utf-8"))
    return data


def _run_all(commands: list[list[str]]) -> list[subprocess.CompletedProcess[str]]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(
            pool.map(
                lambda c: subprocess.run(c, capture_output=True, text=True, timeout=60), commands
            )
        )


def test_every_phase_has_at_least_two_tracks(manifest: dict[str, Any]) -> None:
    phases = ("settling", "onset", "building", "peak", "return", "reflection")
    assert tuple(manifest["phases"]) == phases
    for phase in phases:
        tracks = [f for f in manifest["files"] if f["phase"] == phase]
        assert len(tracks) >= 2, phase
        assert all(180 <= f["seconds"] <= 360 for f in tracks), tracks
    assert sum(f["seconds"] for f in manifest["files"]) >= 40 * 60
    assert manifest["licence"] == "CC0-1.0"


def test_every_file_exists_and_matches_its_checksum(manifest: dict[str, Any]) -> None:
    for entry in manifest["files"]:
        path = AUDIO / entry["file"]
        assert path.is_file(), path
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"], path


@pytest.mark.skipif(not HAVE_SOX, reason="soxi reads the durations")
def test_durations_match_the_manifest(manifest: dict[str, Any]) -> None:
    files = manifest["files"]
    results = _run_all([["soxi", "-D", str(AUDIO / f["file"])] for f in files])
    for entry, result in zip(files, results, strict=True):
        assert result.returncode == 0, result.stderr
        assert abs(float(result.stdout) - entry["seconds"]) <= 1.0, entry["file"]


@pytest.mark.skipif(not HAVE_SOX, reason="sox decodes the files")
def test_every_file_decodes_gently_at_about_minus_14_dbfs(manifest: dict[str, Any]) -> None:
    files = manifest["files"]
    results = _run_all([["sox", str(AUDIO / f["file"]), "-n", "stat"] for f in files])
    for entry, result in zip(files, results, strict=True):
        assert result.returncode == 0, f"{entry['file']}: {result.stderr}"
        found = re.search(r"Maximum amplitude:\s+([\d.]+)", result.stderr)
        assert found, result.stderr
        peak = float(found[1])
        assert 0.15 < peak < 0.26, f"{entry['file']} peaks at {peak}"  # -14 dBFS is 0.2


def test_libvlc_reads_the_right_durations(manifest: dict[str, Any]) -> None:
    try:
        import vlc  # only this test needs libVLC

        instance = vlc.Instance("--aout=dummy", "--quiet")
    except (ImportError, OSError, NotImplementedError, SystemExit):
        instance = None
    if instance is None:
        pytest.skip("libVLC is not available")
    try:
        for entry in manifest["files"]:
            media = instance.media_new_path(str(AUDIO / entry["file"]))
            media.parse_with_options(vlc.MediaParseFlag.local, 5000)
            deadline = time.monotonic() + 5
            while media.get_parsed_status() == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert media.get_parsed_status() == vlc.MediaParsedStatus.done, entry["file"]
            assert abs(media.get_duration() - entry["seconds"] * 1000) <= 1000, entry["file"]
            media.release()
    finally:
        instance.release()


def test_the_recipe_is_deterministic_and_bells_never_overlap() -> None:
    first, second = mda.build_tracks(), mda.build_tracks()
    assert first == second
    assert mda.recipe_hash(first) == mda.recipe_hash(second)
    assert len({t.file for t in first}) == len(first)
    for phase in mda.PHASES.values():
        assert phase.bell_gap[0] > phase.bell_ring


def test_up_to_date_only_when_recipe_and_every_file_match(tmp_path: Path) -> None:
    tracks = [
        mda.Track("settling-1.ogg", "settling", "S 1", 2, "true"),
        mda.Track("onset-1.ogg", "onset", "O 1", 2, "true"),
    ]
    for t in tracks:
        (tmp_path / t.file).write_bytes(t.file.encode())
    files = [
        {"file": t.file, "sha256": hashlib.sha256(t.file.encode()).hexdigest()} for t in tracks
    ]
    manifest = {"recipe": mda.recipe_hash(tracks), "files": files}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert mda.up_to_date(tmp_path, tracks)

    other_recipe = [tracks[0], mda.Track("onset-1.ogg", "onset", "O 1", 3, "true")]
    assert not mda.up_to_date(tmp_path, other_recipe)

    (tmp_path / "onset-1.ogg").write_bytes(b"changed")
    assert not mda.up_to_date(tmp_path, tracks)

    (tmp_path / "onset-1.ogg").unlink()
    assert not mda.up_to_date(tmp_path, tracks)

    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    assert not mda.up_to_date(tmp_path, tracks)
