"""Arc files: a well-formed arc loads with its phases, tracks, silences and fades; a broken one is
refused with a message naming the file, the line and the field; allowed-but-odd things (the same
file twice, lyrics) are kept as warnings; and no text at all makes the parser raise anything but
ArcError."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapsession.errors import InvalidEntry
from kapsession.music.arc import (
    DEFAULT_FADE_IN_S,
    DEFAULT_FADE_OUT_S,
    Arc,
    ArcError,
    Phase,
    Silence,
    Track,
    arc_to_toml,
    load_arc,
    load_arcs,
    parse_arc,
    write_arc,
)

GOOD = """\
[arc]
id = "im-45"
name = "Intramuscular, 45 minutes"
description = "Drones and bells"
routes = ["intramuscular"]
planned_minutes = 45

[[phases]]
name = "settling"
start_minutes = 0
minutes = 2
fade_in_s = 4

[[phases.tracks]]
path = "audio/settling.ogg"
title = "Settling drone"
tags = ["no_lyrics"]
gapless_next = true

[[phases.tracks]]
path = "audio/settling-2.ogg"
volume = 60
fade_out_s = 10

[[phases]]
name = "onset"
start_minutes = 2
minutes = 6
tracks = [
  {path = "/srv/music/onset.flac", title = "Onset"},
  {silence_s = 30},
  {path = "audio/onset-bells.wav", tags = ["no_lyrics"]},
]

[[phases]]
name = "quiet"  # a clinic's own: a silent phase
start_minutes = 10
minutes = 1.5

[[phases.tracks]]
silence_s = 90
"""


def write(folder: Path, text: str, name: str = "test.arc.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# --- a good arc ------------------------------------------------------------------------------


def test_a_good_arc_loads_from_a_real_file(tmp_path: Path) -> None:
    arc = load_arc(write(tmp_path, GOOD))
    assert (arc.id, arc.name, arc.routes, arc.planned_minutes) == (
        "im-45",
        "Intramuscular, 45 minutes",
        ("intramuscular",),
        45,
    )
    assert arc.path == str(tmp_path / "test.arc.toml")
    assert [p.name for p in arc.phases] == ["settling", "onset", "quiet"]
    settling, onset, quiet = arc.phases
    first, second = settling.items
    assert first == Track(
        tmp_path / "audio/settling.ogg",
        "Settling drone",
        ("no_lyrics",),
        gapless_next=True,
        fade_in_s=4,
        fade_out_s=DEFAULT_FADE_OUT_S,
    )
    assert first.location == "audio/settling.ogg" and first.line == 14
    # Title defaults to the file name; fades fall back to the phase's defaults.
    assert isinstance(second, Track)
    assert (second.title, second.volume, second.fade_in_s, second.fade_out_s) == (
        "settling-2",
        60,
        4,
        10,
    )
    assert isinstance(onset.items[0], Track)
    assert onset.items[0].path == Path("/srv/music/onset.flac")
    assert onset.items[1] == Silence(30)
    assert onset.items[0].line == 30 and onset.items[1].line == 31
    assert onset.fade_in_s == DEFAULT_FADE_IN_S
    assert quiet.silent and not settling.silent
    assert arc.warnings == ()


def test_helpers_follow_the_dose_clock(tmp_path: Path) -> None:
    arc = load_arc(write(tmp_path, GOOD))
    assert arc.total_minutes == 11.5
    assert arc.phase_at(0) is arc.phases[0]
    assert arc.phase_at(119.9) is arc.phases[0]
    assert arc.phase_at(120) is arc.phases[1]
    assert arc.phase_at(8 * 60) is None  # the gap between onset (ends 8) and quiet (starts 10)
    assert arc.phase_at(10 * 60) is arc.phases[2]
    assert arc.phase_at(11.5 * 60) is None
    assert arc.phase_at(-1) is None
    assert arc.phase_at(float("nan")) is None
    assert [type(item).__name__ for _, item in arc.items()] == [
        "Track",
        "Track",
        "Track",
        "Silence",
        "Track",
        "Silence",
    ]
    assert [phase.name for phase, _ in arc.items()][2:4] == ["onset", "onset"]
    assert arc.tracks() == [
        tmp_path / "audio/settling.ogg",
        tmp_path / "audio/settling-2.ogg",
        Path("/srv/music/onset.flac"),
        tmp_path / "audio/onset-bells.wav",
    ]


def test_parse_without_a_folder_keeps_paths_as_written() -> None:
    arc = parse_arc(GOOD, "x.arc.toml")
    assert arc.tracks()[0] == Path("audio/settling.ogg")


def test_a_bom_is_tolerated_and_crlf_lines_count(tmp_path: Path) -> None:
    path = tmp_path / "bom.arc.toml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode())
    assert load_arc(path).id == "im-45"
    broken = GOOD.replace("volume = 60", "volume = 600").replace("\n", "\r\n")
    path.write_bytes(broken.encode())
    with pytest.raises(ArcError) as info:
        load_arc(path)
    assert info.value.line == 22


def test_duplicates_lyrics_and_same_phase_names_are_warnings_not_errors(tmp_path: Path) -> None:
    text = GOOD.replace('"audio/settling-2.ogg"', '"audio/settling.ogg"').replace(
        '{path = "audio/onset-bells.wav", tags = ["no_lyrics"]}',
        '{path = "audio/onset-bells.wav", tags = ["lyrics", "familiar"]}',
    )
    text = text.replace('name = "quiet"', 'name = "onset"')
    arc = load_arc(write(tmp_path, text))
    assert len(arc.tracks()) == 4
    assert arc.warnings == (
        "test.arc.toml line 36, phases[3].name: has the same name as phases[2]",
        "test.arc.toml line 21, phases[1].tracks[2].path: the same file as "
        "phases[1].tracks[1] (it plays twice)",
        "test.arc.toml line 32, phases[2].tracks[3].tags: lyrics: the client may follow "
        "words in a language they know",
        "test.arc.toml line 32, phases[2].tracks[3].tags: familiar: may pull the client "
        "into memories",
    )


# --- broken arcs -----------------------------------------------------------------------------

HEAD = '[arc]\nid = "a"\nname = "A"\n'
PHASE = '\n[[phases]]\nname = "p"\nstart_minutes = 0\nminutes = 5\n'
TRACK = '\n[[phases.tracks]]\npath = "a.ogg"\n'

BROKEN: list[tuple[str, str, int, str, str]] = [
    # (case, text, line, field, problem contains)
    ("toml syntax", HEAD + "name = \n", 4, "TOML syntax", "column"),
    ("no arc table", PHASE + TRACK, 1, "arc", "is required"),
    ("stray root key", "colour = 1\n" + HEAD + PHASE + TRACK, 1, "colour", "unknown field"),
    ("stray root table", HEAD + "[extra]\nx = 1\n" + PHASE + TRACK, 4, "extra", "unknown"),
    ("unknown arc key", HEAD + "tempo = 3\n" + PHASE + TRACK, 4, "arc.tempo", "unknown field"),
    ("bad id", HEAD.replace('"a"', '"A B"') + PHASE + TRACK, 2, "arc.id", "lowercase"),
    ("missing name", '[arc]\nid = "a"\n' + PHASE + TRACK, 1, "arc.name", "is required"),
    ("name not text", HEAD + PHASE.replace('"p"', "3") + TRACK, 6, "phases[1].name", "text"),
    ("bad route", HEAD + 'routes = ["oral"]\n' + PHASE + TRACK, 4, "arc.routes", '"oral"'),
    (
        "planned short",
        HEAD + "planned_minutes = 30\n" + PHASE + TRACK,
        4,
        "arc.planned_minutes",
        "45",
    ),
    ("no phases", HEAD, 1, "phases", "one or more"),
    ("phases not blocks", "phases = 3\n" + HEAD, 1, "phases", "one or more"),
    (
        "unknown phase key",
        HEAD + PHASE + "colour = 1\n" + TRACK,
        9,
        "phases[1].colour",
        "unknown field",
    ),
    (
        "no start",
        HEAD + PHASE.replace("start_minutes = 0\n", "") + TRACK,
        5,
        "phases[1].start_minutes",
        "is required",
    ),
    (
        "negative start",
        HEAD + PHASE.replace("= 0", "= -1") + TRACK,
        7,
        "phases[1].start_minutes",
        "0 to 240",
    ),
    (
        "zero minutes",
        HEAD + PHASE.replace("minutes = 5", "minutes = 0") + TRACK,
        8,
        "phases[1].minutes",
        "greater than 0",
    ),
    (
        "nan minutes",
        HEAD + PHASE.replace("minutes = 5", "minutes = nan") + TRACK,
        8,
        "phases[1].minutes",
        "NaN",
    ),
    (
        "inf start",
        HEAD + PHASE.replace("= 0", "= inf") + TRACK,
        7,
        "phases[1].start_minutes",
        "NaN",
    ),
    (
        "string minutes",
        HEAD + PHASE.replace("minutes = 5", 'minutes = "5"') + TRACK,
        8,
        "phases[1].minutes",
        "number",
    ),
    (
        "bool minutes",
        HEAD + PHASE.replace("minutes = 5", "minutes = true") + TRACK,
        8,
        "phases[1].minutes",
        "number",
    ),
    (
        "huge int",
        HEAD + PHASE.replace("minutes = 5", "minutes = " + "9" * 400) + TRACK,
        8,
        "phases[1].minutes",
        "greater than 0",
    ),
    (
        "past 240",
        HEAD + PHASE.replace("= 0", "= 200").replace("minutes = 5", "minutes = 50") + TRACK,
        8,
        "phases[1].minutes",
        "after minute 240",
    ),
    (
        "fade too long",
        HEAD + PHASE + "fade_in_s = 90\n" + TRACK,
        9,
        "phases[1].fade_in_s",
        "0 to 60",
    ),
    ("empty phase", HEAD + PHASE, 6, "phases[1].name", "silence"),
    ("empty track list", HEAD + PHASE + "tracks = []\n", 9, "phases[1].tracks", "no tracks"),
    ("tracks not a list", HEAD + PHASE + "tracks = 3\n", 9, "phases[1].tracks", "must be a list"),
    (
        "track is a string",
        HEAD + PHASE + 'tracks = ["a.ogg"]\n',
        9,
        "phases[1].tracks[1]",
        "silence_s",
    ),
    (
        "track without path",
        HEAD + PHASE + '\n[[phases.tracks]]\ntitle = "x"\n',
        10,
        "phases[1].tracks[1].path",
        "is required",
    ),
    (
        "empty path",
        HEAD + PHASE + '\n[[phases.tracks]]\npath = " "\n',
        11,
        "phases[1].tracks[1].path",
        "empty",
    ),
    (
        "unknown track key",
        HEAD + PHASE + TRACK + "speed = 2\n",
        12,
        "phases[1].tracks[1].speed",
        "unknown field",
    ),
    (
        "bad tag",
        HEAD + PHASE + TRACK + 'tags = ["loud"]\n',
        12,
        "phases[1].tracks[1].tags",
        '"loud"',
    ),
    (
        "tags twice",
        HEAD + PHASE + TRACK + 'tags = ["familiar", "familiar"]\n',
        12,
        "phases[1].tracks[1].tags",
        "twice",
    ),
    (
        "lyrics both",
        HEAD + PHASE + TRACK + 'tags = ["lyrics", "no_lyrics"]\n',
        12,
        "phases[1].tracks[1].tags",
        "both",
    ),
    (
        "volume 101",
        HEAD + PHASE + TRACK + "volume = 101\n",
        12,
        "phases[1].tracks[1].volume",
        "0 to 100",
    ),
    (
        "volume fraction",
        HEAD + PHASE + TRACK + "volume = 50.5\n",
        12,
        "phases[1].tracks[1].volume",
        "whole",
    ),
    (
        "gapless not bool",
        HEAD + PHASE + TRACK + 'gapless_next = "yes"\n',
        12,
        "phases[1].tracks[1].gapless_next",
        "true or false",
    ),
    (
        "gapless at the end",
        HEAD + PHASE + TRACK + "gapless_next = true\n",
        12,
        "phases[1].tracks[1].gapless_next",
        "the arc ends",
    ),
    (
        "gapless into a silence",
        HEAD + PHASE + TRACK + "gapless_next = true\n" + "\n[[phases.tracks]]\nsilence_s = 5\n",
        12,
        "phases[1].tracks[1].gapless_next",
        "a silence follows",
    ),
    (
        "zero silence",
        HEAD + PHASE + "\n[[phases.tracks]]\nsilence_s = 0\n",
        11,
        "phases[1].tracks[1].silence_s",
        "greater than 0",
    ),
    (
        "silence with a path",
        HEAD + PHASE + '\n[[phases.tracks]]\nsilence_s = 5\npath = "a"\n',
        12,
        "phases[1].tracks[1].path",
        "unknown field",
    ),
    (
        "inline track error",
        HEAD
        + PHASE
        + 'tracks = [\n  {path = "a.ogg"},\n  {silence_s = 3},\n  { path = "b", volume = -1 },\n]\n',
        12,
        "phases[1].tracks[3].volume",
        "0 to 100",
    ),
    (
        "inline track missing path, strings with braces",
        HEAD + PHASE + 'tracks = [{path = "{a},[b]", title = "x # y"}, {title = "t"}]\n',
        9,
        "phases[1].tracks[2].path",
        "is required",
    ),
    (
        "overlap",
        HEAD + PHASE + TRACK + PHASE.replace('"p"', '"q"').replace("= 0", "= 4") + TRACK,
        15,
        "phases[2].start_minutes",
        'before phases[1] ("p") ends at 5 min',
    ),
    (
        "out of order",
        HEAD + PHASE.replace("= 0", "= 10") + TRACK + PHASE + TRACK,
        15,
        "phases[2].start_minutes",
        "time order",
    ),
    (
        "control characters in a title",
        HEAD + PHASE + TRACK + 'title = "a\\u0007b"\n',
        12,
        "phases[1].tracks[1].title",
        "control characters",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "field", "problem"),
    [case[1:] for case in BROKEN],
    ids=[case[0] for case in BROKEN],
)
def test_a_broken_arc_names_line_and_field(
    tmp_path: Path, text: str, line: int, field: str, problem: str
) -> None:
    path = write(tmp_path, text, "broken.arc.toml")
    with pytest.raises(ArcError) as info:
        load_arc(path)
    error = info.value
    assert isinstance(error, InvalidEntry)
    assert error.file == "broken.arc.toml"
    assert problem in error.problem
    if field:
        assert (error.line, error.field) == (line, field), str(error)
        assert str(error).startswith(f"broken.arc.toml line {line}, {field}: ")
    # Pickles whole (errors may cross a process boundary, e.g. from a pre-flight worker).
    assert str(pickle.loads(pickle.dumps(error))) == str(error)


def test_the_good_text_has_no_problem_so_the_table_tests_one_thing_each() -> None:
    arc = parse_arc(HEAD + PHASE + TRACK, "ok.arc.toml")
    assert (arc.id, arc.name, [p.name for p in arc.phases], arc.warnings) == ("a", "A", ["p"], ())


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(ArcError, match="cannot be read"):
        load_arc(tmp_path / "missing.arc.toml")
    with pytest.raises(ArcError, match="cannot be read"):
        load_arc(tmp_path)  # a directory
    path = tmp_path / "latin.arc.toml"
    path.write_bytes((HEAD + PHASE + TRACK).encode() + b'title = "caf\xe9"\n')
    with pytest.raises(ArcError) as info:
        load_arc(path)
    assert info.value.line == 12 and "UTF-8" in info.value.problem


def test_load_arcs_keeps_good_files_beside_bad_ones(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "a.arc.toml")
    write(tmp_path, GOOD, "b.arc.toml")  # the same id again
    write(tmp_path, "nonsense = [", "c.arc.toml")
    write(tmp_path, "not an arc", "notes.toml")
    arcs, errors = load_arcs(tmp_path)
    assert list(arcs) == ["im-45"]
    assert [(e.file, e.field) for e in errors] == [
        ("b.arc.toml", "arc.id"),
        ("c.arc.toml", "TOML syntax"),
    ]
    assert load_arcs(tmp_path / "nowhere") == ({}, [])


# --- writing ---------------------------------------------------------------------------------


def test_an_arc_written_and_read_back_is_equal(tmp_path: Path) -> None:
    arc = load_arc(write(tmp_path, GOOD))
    out = tmp_path / "copy.arc.toml"
    write_arc(arc, out)
    again = load_arc(out)
    assert again == arc
    assert 'path = "audio/settling.ogg"' in out.read_text()  # stays relative
    assert 'path = "/srv/music/onset.flac"' in out.read_text()


def test_odd_names_survive_writing() -> None:
    track = Track(Path('/m/"quoted" \\ back é 🎵.ogg'), 'Title "with" quotes')
    arc = Arc("odd", "Odd ✓", (Phase("peak", 0, 1.25, (track, Silence(2.5))),))
    assert parse_arc(arc_to_toml(arc), "odd.arc.toml") == arc


@pytest.mark.parametrize("name", ["/m/\udce9.ogg", "/m/tab\there.ogg", "/m/new\nline.ogg"])
def test_a_name_an_arc_file_cannot_hold_is_refused_when_writing(name: str) -> None:
    # Undecodable bytes (surrogate escapes) and control characters: the parser refuses them, so
    # the writer must not produce a file it cannot read back.
    arc = Arc("odd", "Odd", (Phase("peak", 0, 1, (Track(Path(name), "x"),)),))
    with pytest.raises(InvalidEntry):
        arc_to_toml(arc)


# --- fuzz ------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_is_an_arc_or_an_arc_error(text: str) -> None:
    try:
        parse_arc(text, "fuzz.arc.toml")
    except ArcError as error:
        assert error.line is None or error.line >= 1


fragments = st.sampled_from(
    [
        HEAD,
        PHASE,
        TRACK,
        "tracks = [{path = 'x'}, {silence_s = 1}]\n",
        "volume = 3\n",
        "gapless_next = true\n",
        "\n[[phases.tracks]]\nsilence_s = 4\n",
        'tags = ["lyrics"]\n',
        "start_minutes = 2\n",
        "minutes = 0.5\n",
        "[arc]\n",
        "[[phases]]\n",
        "fade_out_s = 1e400\n",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(fragments, max_size=12))
def test_arc_shaped_text_is_an_arc_or_an_arc_error(parts: list[str]) -> None:
    try:
        arc = parse_arc("".join(parts), "fuzz.arc.toml")
    except ArcError:
        return
    assert parse_arc(arc_to_toml(arc), "again.arc.toml") == arc


def test_an_arc_sets_its_own_target_loudness(tmp_path: Path) -> None:
    """Issue 17: every track plays at the arc's target (EBU R128 integrated loudness), -23 LUFS
    unless the arc says otherwise; it is written back, and a target out of range is refused."""
    assert load_arc(write(tmp_path, GOOD)).target_lufs == -23.0
    softer = GOOD.replace("planned_minutes = 45", "planned_minutes = 45\ntarget_lufs = -27.5")
    arc = load_arc(write(tmp_path, softer))
    assert arc.target_lufs == -27.5
    out = tmp_path / "copy.arc.toml"
    write_arc(arc, out)
    assert "target_lufs = -27.5" in out.read_text()
    assert load_arc(out) == arc
    for bad in ("-5", "-60", '"loud"', "nan"):
        text = GOOD.replace("planned_minutes = 45", f"planned_minutes = 45\ntarget_lufs = {bad}")
        with pytest.raises(ArcError) as caught:
            parse_arc(text, "x.arc.toml")
        assert "line 7, arc.target_lufs: must be LUFS from -40 to -10" in str(caught.value)


ALTERNATES = (
    GOOD
    + """
[[phases.alternates]]
kind = "softer"
path = "audio/soft.ogg"
volume = 60

[[phases.alternates]]
kind = "deeper"
path = "audio/deep.ogg"
title = "Deep drone"
"""
)


def test_a_phase_holds_softer_and_deeper_alternates(tmp_path: Path) -> None:
    """Issue 17: alternates belong to the phase above them, are checked by the pre-flight
    (Arc.tracks lists them) and survive writing; a bad one is refused by field."""
    arc = load_arc(write(tmp_path, ALTERNATES))
    last = arc.phases[-1]
    assert [(a.kind, a.track.title, a.track.volume) for a in last.alternates] == [
        ("softer", "soft", 60),
        ("deeper", "Deep drone", None),
    ]
    assert all(not p.alternates for p in arc.phases[:-1])
    assert arc.tracks()[-2:] == [tmp_path / "audio/soft.ogg", tmp_path / "audio/deep.ogg"]
    out = tmp_path / "copy.arc.toml"
    write_arc(arc, out)
    assert load_arc(out) == arc
    for bad, problem in (
        ('kind = "louder"', "phases[3].alternates[1].kind: must be softer or deeper"),
        ("gapless_next = true", "phases[3].alternates[1].gapless_next: unknown field"),
        ("title = 4", "phases[3].alternates[1].title: must be"),
    ):
        line = bad if "kind" in bad else f'kind = "softer"\n{bad}'
        text = ALTERNATES.replace('kind = "softer"', line)
        with pytest.raises(ArcError) as caught:
            parse_arc(text, "x.arc.toml")
        assert problem in str(caught.value)
    no_kind = ALTERNATES.replace('kind = "softer"\n', "")
    with pytest.raises(ArcError, match=r"alternates\[1\]\.kind: is required: softer or deeper"):
        parse_arc(no_kind, "x.arc.toml")
