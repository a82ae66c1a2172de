"""`kapsession playlist check PATH`: one line per track, exit 1 if any would fail, 2 on bad input.
Real files, real libVLC, and the shipped arcs on the demo audio the set-up generates."""

from __future__ import annotations

import io
import os
import random
from pathlib import Path

import pytest

from kapsession import cli
from kapsession.arc import load_arc

PLAYLISTS = Path(__file__).resolve().parents[2] / "playlists"
ARCS = sorted(PLAYLISTS.glob("*.arc.toml"))


def _check(path: Path, *extra: str) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = cli.run_command(cli.parse_args(["playlist", "check", str(path), *extra]), out)
    return code, out.getvalue().splitlines()


def test_two_curated_arcs_ship_for_45_and_75_minute_sessions() -> None:
    arcs = {load_arc(p).id: load_arc(p) for p in ARCS}
    assert {"im-45", "lozenge-75"} <= set(arcs)
    assert arcs["im-45"].planned_minutes == 45 and arcs["lozenge-75"].planned_minutes == 75
    for arc in arcs.values():
        assert [p.name for p in arc.phases][:2] == ["settling", "onset"]


@pytest.mark.parametrize("arc", ARCS, ids=lambda p: p.name)
def test_every_shipped_arc_passes_its_preflight_on_the_demo_audio(arc: Path) -> None:
    code, lines = _check(arc)
    assert code == 0, "\n".join(lines)
    assert all(line.startswith("ok ") for line in lines[:-1])
    assert "short by" not in lines[-1], lines[-1]


def test_a_bad_playlist_names_every_failing_track_and_exits_1(tmp_path: Path) -> None:
    good = PLAYLISTS / "audio" / "settling-1.ogg"
    (tmp_path / "noise.mp3").write_bytes(random.Random(7).randbytes(50_000))
    (tmp_path / "empty.ogg").write_bytes(b"")
    (tmp_path / "a-folder").mkdir()
    odd = os.fsdecode(b"caf\xe9.ogg")  # a Latin-1 file name, not UTF-8
    (tmp_path / odd).write_bytes(good.read_bytes())
    lines = [
        "#EXTM3U",
        f"file://{good}",
        "noise.mp3",
        "empty.ogg",
        "a-folder",
        "gone.ogg",
        "https://radio.example.org/live.mp3",
        str(good),
    ]
    playlist = tmp_path / "bad.m3u8"
    playlist.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8-sig")
    code, out = _check(playlist, "--planned-minutes", "45")
    assert code == 1
    statuses = [line.split()[0] for line in out[:-1]]
    assert statuses == [
        "ok",
        "undecodable",
        "undecodable",
        "not_a_file",
        "missing",
        "unreadable",
        "ok",
    ]
    assert "https://radio.example.org/live.mp3" in out[5]
    assert "FAILED" in out[-1] and "short by" in out[-1]

    latin = tmp_path / "latin.m3u"
    latin.write_bytes(b"caf\xe9.ogg\n")
    code, out = _check(latin)
    assert code == 0 and out[0].startswith("ok ")


def test_a_missing_or_broken_arc_is_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    assert _check(tmp_path / "nothing.arc.toml")[0] == 2
    broken = tmp_path / "broken.arc.toml"
    broken.write_text('[arc]\nid = "x"\nname = "x"\n[[phases]]\nname = "peak"\nminutes = -1\n')
    assert _check(broken)[0] == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "broken.arc.toml line" in err[1]
