"""The command line as an attacker (or an unlucky clinic) drives it: empty, huge, over-long and
non-UTF-8 arguments, folders, FIFOs and devices where files belong, missing folders, and
control characters in what files say. Every subcommand ends with one clear line and a
non-zero exit (never a traceback, never a hang, never a file left half-made), and nothing a
file says can drive the terminal."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.cli import run

from kapsession.storage import paths

from .cli_driver import dosed_store, expect_refused

ESC = "\x1b[2J\x1b[31m"  # clear the screen, then red
RAW = ("\x1b", "\r", "\x07", "\u202e")  # none of these may reach the terminal raw


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv(paths.BACKUP_ENV_VAR, raising=False)
    folder = tmp_path / "data"
    store = dosed_store(folder)
    store.close()
    yield folder


@pytest.fixture
def playlist(tmp_path: Path) -> Path:
    track = tmp_path / "calm.ogg"
    track.write_bytes(b"synthetic, not audio")
    path = tmp_path / "mix.m3u8"
    path.write_text(f"#EXTM3U\n#EXTINF:60,Calm\n{track}\n", encoding="utf-8")
    return path


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- -o '' and other empty paths -----------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["export", "--format", "json", "-o", ""],
        ["handout", "--which", "integration", "-o", ""],
        ["playlist", "export", "any.arc.toml", "-o", ""],
        ["playlist", "import", "mix.m3u8", "--to", ""],
        ["backup", "--to", ""],
        ["verify", ""],
        ["restore", ""],
        ["playlist", "check", ""],
    ],
)
def test_an_empty_path_is_refused_and_never_means_stdout_or_the_default(
    data: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    expect_refused([*argv, "--data-dir", str(data)], capsys, "is empty")
    assert not (data / "backups").exists()  # `backup --to ''` did not use the default


def test_an_empty_data_dir_never_means_the_default_folder(
    capsys: pytest.CaptureFixture[str],
) -> None:
    expect_refused(["sessions", "--data-dir", ""], capsys, "--data-dir is empty")


# --- --session with a huge number ----------------------------------------------------------


@pytest.mark.parametrize(
    "command", [["export", "--format", "json"], ["handout", "--which", "preparation"]]
)
def test_a_huge_session_number_names_no_session(
    data: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    huge = "99999999999999999999999"
    err = expect_refused([*command, "--data-dir", str(data), "--session", huge], capsys, huge)
    assert "no session" in err


# --- playlist import/export into a missing folder ------------------------------------------


def test_playlist_import_and_export_into_a_missing_folder_say_so(
    data: Path, tmp_path: Path, playlist: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-such-folder"
    expect_refused(
        [
            "playlist",
            "--data-dir",
            str(data),
            "import",
            str(playlist),
            "--to",
            str(missing / "mix.arc.toml"),
        ],
        capsys,
        "no such folder",
    )
    arc = tmp_path / "mix.arc.toml"
    code, _out, err = run(
        ["playlist", "--data-dir", str(data), "import", str(playlist), "--to", str(arc)], capsys
    )
    assert (code, err) == (0, "")
    expect_refused(
        ["playlist", "--data-dir", str(data), "export", str(arc), "-o", str(missing / "mix.m3u8")],
        capsys,
        "no such folder",
    )
    assert not missing.exists()


def test_playlist_import_into_the_data_folders_arcs_creates_that_folder(
    data: Path, playlist: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the README shows a clinic: the app loads arcs from <data folder>/arcs/."""
    assert not (data / "arcs").exists()
    target = data / "arcs" / "mix.arc.toml"
    code, out, err = run(
        ["playlist", "--data-dir", str(data), "import", str(playlist), "--to", str(target)],
        capsys,
    )
    assert (code, err) == (0, "") and out.startswith(f"Wrote {target}: 1 track")
    assert target.is_file() and stat.S_IMODE((data / "arcs").stat().st_mode) == 0o700


# --- over-long names -----------------------------------------------------------------------


def test_an_over_long_name_leaves_no_file_behind(
    data: Path, tmp_path: Path, playlist: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    target = out / "mix.arc.toml"
    err = expect_refused(
        [
            "playlist",
            "--data-dir",
            str(data),
            "import",
            str(playlist),
            "--to",
            str(target),
            "--name",
            "n" * 300,
        ],
        capsys,
        "nothing was written",
    )
    assert "at most 100 characters" in err
    assert files_in(out) == []  # neither the arc nor a temp file


@pytest.mark.parametrize(
    "argv",
    [
        ["export", "--format", "md", "-o", "{long}.md"],
        ["handout", "--which", "integration", "-o", "{long}.pdf"],
        ["playlist", "import", "{playlist}", "--to", "{long}.arc.toml"],
        ["playlist", "export", "{arc}", "-o", "{long}.m3u8"],
    ],
)
def test_an_output_file_name_beyond_255_bytes_is_refused_before_anything_is_written(
    data: Path,
    tmp_path: Path,
    playlist: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    arc = tmp_path / "mix.arc.toml"
    arc.write_text(
        '[arc]\nid = "mix"\nname = "Mix"\n\n[[phases]]\nname = "session"\nstart_minutes = 0\n'
        "minutes = 10\n\n[[phases.tracks]]\nsilence_s = 60\n",
        encoding="utf-8",
    )
    given = [a.format(long=str(out / ("é" * 130)), playlist=playlist, arc=arc) for a in argv]
    expect_refused([*given, "--data-dir", str(data)], capsys, "longer than 255 bytes")
    assert files_in(out) == []


# --- hostile paths for every subcommand ----------------------------------------------------


def _hostile_paths(tmp_path: Path) -> dict[str, Path]:
    fifo = tmp_path / "a-fifo"
    os.mkfifo(fifo)
    folder = tmp_path / "a-folder"
    folder.mkdir()
    return {
        "fifo": fifo,
        "folder": folder,
        "missing": tmp_path / "missing" / "deeper",
        "too long": tmp_path / ("x" * 300),
        "not UTF-8": Path(os.fsdecode(os.fsencode(str(tmp_path)) + b"/\xff\xfe")),
    }


COMMANDS = [
    ["sessions", "--data-dir", "{p}"],
    ["verify", "{p}"],
    ["restore", "{p}", "--data-dir", "{data}"],
    ["export", "--data-dir", "{data}", "--format", "json", "-o", "{p}"],
    ["handout", "--data-dir", "{data}", "--which", "integration", "-o", "{p}"],
    ["playlist", "check", "{p}"],
    ["playlist", "import", "{p}", "--to", "{tmp}/x.arc.toml"],
    ["playlist", "export", "{p}", "-o", "{tmp}/x.m3u8"],
    ["encrypt", "--data-dir", "{p}"],
    ["passphrase", "--data-dir", "{p}"],
]


@pytest.mark.parametrize("kind", ["fifo", "folder", "missing", "too long", "not UTF-8"])
def test_every_subcommand_ends_cleanly_on_a_hostile_path(
    data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    """One line each, exit 2, never a traceback; the FIFO is never opened (that would hang).
    Not refusals: a folder with no data has no sessions yet, and a file name that is not UTF-8
    is still a file name."""
    monkeypatch.delenv("KAPSESSION_NEW_PASSPHRASE", raising=False)
    monkeypatch.delenv("KAPSESSION_PASSPHRASE", raising=False)
    hostile = _hostile_paths(tmp_path)[kind]
    before = files_in(data)
    for template in COMMANDS:
        argv = [a.format(p=hostile, data=data, tmp=tmp_path) for a in template]
        code, out, err = run(argv, capsys)
        said = out + err
        assert "Traceback" not in said and " in _" not in said, (argv, said)
        if argv[0] == "sessions" and kind in ("folder", "missing", "not UTF-8"):
            assert (code, out, err) == (0, "No sessions yet.\n", ""), (argv, said)
            continue
        if argv[0] in ("export", "handout") and kind == "not UTF-8":
            # Any byte but "/" and NUL makes a file name: written whole, and said so.
            assert (code, err) == (0, ""), (argv, said)
            assert hostile.is_file()
            hostile.unlink()
            continue
        assert code == 2 and out == "", (argv, code, said)
        assert err.count("\n") == 1 and err.startswith("kapsession: "), (argv, err)
    assert files_in(data) == before
    assert not (tmp_path / "x.arc.toml").exists() and not (tmp_path / "x.m3u8").exists()


def test_a_data_folder_that_is_a_file_is_said_to_be_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("synthetic\n")
    expect_refused(["sessions", "--data-dir", str(not_a_folder)], capsys, "is not a folder")


def test_a_backup_into_a_folder_whose_name_is_not_utf8_is_written_and_verified(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = Path(os.fsdecode(os.fsencode(str(tmp_path)) + b"/backups-\xff"))
    code, out, err = run(["backup", "--data-dir", str(data), "--to", str(target)], capsys)
    assert (code, err) == (0, ""), err
    assert out.startswith("Backup written and verified: ") and "\\udcff" in out
    assert len(list(target.glob("kapsession-*.sqlite3"))) == 1


# --- what files say never drives the terminal ----------------------------------------------


def test_control_characters_from_a_playlist_are_printed_escaped(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    evil = tmp_path / f"calm{ESC}\u202eggo.ogg"
    evil.write_bytes(b"synthetic, not audio")
    playlist = tmp_path / "evil.m3u8"
    playlist.write_text(
        f"#EXTM3U\n#EXTINF:60,{ESC}Title\a\n{evil}\nhttp://example.invalid/{ESC}stream\n",
        encoding="utf-8",
    )
    code, out, err = run(["playlist", "check", str(playlist)], capsys)
    assert code == 1 and err == ""
    assert "\\x1b[2J\\x1b[31m" in out and "\\u202e" in out
    assert not any(c in out + err for c in RAW)
    # The import names the left-out URL; the failure to write names the file: both escaped.
    code, out, err = run(
        [
            "playlist",
            "--data-dir",
            str(data),
            "import",
            str(playlist),
            "--to",
            str(tmp_path / "evil.arc.toml"),
        ],
        capsys,
    )
    assert not any(c in out + err for c in RAW), (out, err)
    code, out, err = run(["playlist", "check", str(tmp_path / f"gone{ESC}\r.m3u8")], capsys)
    assert code == 2 and "gone\\x1b[2J\\x1b[31m\\x0d.m3u8" in err
    assert not any(c in err for c in RAW)


def test_the_escaping_keeps_ordinary_text_and_escapes_what_a_terminal_acts_on() -> None:
    from kapsession.cli.terminal_text import printable

    assert printable("Ólafur Arnalds – Near Light (5:02)") == "Ólafur Arnalds – Near Light (5:02)"
    assert printable("a\x1b[2Jb\rc\x07d\u202ee\u2028f\udcff") == (
        "a\\x1b[2Jb\\x0dc\\x07d\\u202ee\\u2028f\\udcff"
    )
    assert printable("\x9b31m") == "\\x9b31m"  # the one-byte CSI of C1


@pytest.mark.parametrize("typed", ["\n", "a\nb", "\x1b[2J", "\u202eexe"])
def test_an_unknown_argument_with_a_line_break_or_escape_stays_one_line(
    capsys: pytest.CaptureFixture[str], typed: str
) -> None:
    """Found by hypothesis (`kapsession sessions $'\\n'`): argparse quotes what was typed, and a
    newline in it broke the one-line refusal in two."""
    expect_refused(["sessions", typed], capsys, "unrecognized arguments")
