"""`kapsession playlist check PATH`: one line per track, exit 1 if any would fail, 2 on bad input.
Real files, real libVLC, and the shipped arcs on the demo audio the set-up generates."""

from __future__ import annotations

import io
import os
import random
from pathlib import Path

import pytest

from kapsession.cli import commands
from kapsession.music.arc import load_arc

PLAYLISTS = Path(__file__).resolve().parents[2] / "playlists"
ARCS = sorted(PLAYLISTS.glob("*.arc.toml"))


@pytest.fixture(scope="module")
def levels_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(autouse=True)
def _no_real_data_folder(levels_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`playlist check` keeps the tracks' loudness in the data folder (issue 17): here one for
    the module (the shipped arcs share their audio, measured once), never a real one."""
    monkeypatch.setenv("KAPSESSION_DATA_DIR", str(levels_folder))


def _check(path: Path, *extra: str) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = commands.run_command(commands.parse_args(["playlist", "check", str(path), *extra]), out)
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


def _run(*argv: str) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = commands.run_command(commands.parse_args(list(argv)), out)
    return code, out.getvalue().splitlines()


def test_a_clinics_m3u_becomes_an_arc_that_passes_its_preflight(tmp_path: Path) -> None:
    audio = PLAYLISTS / "audio"
    names = ["settling-1.ogg", "onset-1.ogg", "peak-1.ogg", "return-1.ogg"]
    m3u = tmp_path / "clinic mix.m3u"
    m3u.write_bytes(
        (
            "\ufeff#EXTM3U\r\n"
            + "".join(f"#EXTINF:180,Track {i}\r\n{audio / n}\r\n" for i, n in enumerate(names))
            + "https://stream.example/radio\r\n"
        ).encode("utf-8")
    )
    arc_path = tmp_path / "clinic.arc.toml"
    code, lines = _run(
        "playlist", "import", str(m3u), "--to", str(arc_path), "--phases", "settling,onset,peak"
    )
    assert code == 0, lines
    assert lines[0] == f"Wrote {arc_path}: 4 tracks in 3 phases, 12 minutes."
    assert "https://stream.example/radio is a URL and was left out (offline)" in lines[1]
    arc = load_arc(arc_path)
    assert [p.name for p in arc.phases] == ["settling", "onset", "peak"]
    assert [p.name for p in arc.tracks()] == names
    code, lines = _check(arc_path)
    assert code == 0, lines

    # ... and back out as a playlist other players read.
    for suffix in ("m3u8", "xspf"):
        out = tmp_path / f"back.{suffix}"
        code, lines = _run("playlist", "export", str(arc_path), "-o", str(out))
        assert code == 0 and lines[0].startswith(f"Wrote {out}: 4 tracks")
        from kapsession.music.playlist_formats import read_playlist

        assert [e.path for e in read_playlist(out)] == [audio / n for n in names]


def test_import_refuses_to_overwrite_and_names_bad_input(tmp_path: Path, capsys) -> None:
    m3u = tmp_path / "a.m3u8"
    m3u.write_text(f"{PLAYLISTS / 'audio' / 'peak-1.ogg'}\n", encoding="utf-8")
    taken = tmp_path / "taken.arc.toml"
    taken.write_text("keep me", encoding="utf-8")
    cases = [
        (["playlist", "import", str(m3u), "--to", str(taken)], "exists already"),
        (["playlist", "import", str(m3u), "--to", str(tmp_path / "x.toml")], "must end in"),
        (
            [
                "playlist",
                "import",
                str(tmp_path / "none.m3u"),
                "--to",
                str(tmp_path / "n.arc.toml"),
            ],
            "There is no playlist",
        ),
        (
            [
                "playlist",
                "import",
                str(m3u),
                "--to",
                str(tmp_path / "p.arc.toml"),
                "--phases",
                "a,b",
            ],
            "2 phases need at least 2 tracks",
        ),
        (["playlist", "export", str(taken), "-o", str(tmp_path / "x.txt")], ""),
    ]
    for argv, says in cases:
        code, _ = _run(*argv)
        assert code == 2, argv
        assert says in capsys.readouterr().err
    assert taken.read_text(encoding="utf-8") == "keep me"
