"""Playlists people already have: M3U/M3U8 and XSPF files as real players write them (BOM, CRLF,
Latin-1, percent-encoded file URIs, URLs, 10,000 entries) read into entries with their lines;
written back and read again unchanged; turned into arcs and back; and no bytes at all make the
reader raise anything but a clean PlaylistError."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kapsession.errors import InvalidEntry
from kapsession.music.arc import Silence, Track, load_arc, write_arc
from kapsession.music.playlist_formats import (
    PlaylistEntry,
    PlaylistError,
    arc_from_playlist,
    is_playlist_file,
    playlist_from_arc,
    read_playlist,
    write_m3u8,
    write_xspf,
)


def where(entries: list[PlaylistEntry]) -> list[tuple[Path | None, str | None]]:
    return [(e.path, e.url) for e in entries]


# --- M3U / M3U8 ------------------------------------------------------------------------------


def test_extended_m3u8_with_bom_crlf_comments_and_urls(tmp_path: Path) -> None:
    text = (
        "\ufeff#EXTM3U\r\n"
        "#EXTINF:123,Settling drone\r\n"
        "audio/settling.ogg\r\n"
        "\r\n"
        "# a comment\r\n"
        '#EXTINF:-1 tvg-id="x",Bells, with a comma\r\n'
        "/srv/music/Bells é.flac\r\n"
        "#EXTVLCOPT:start-time=3\r\n"
        "file:///srv/music/My%20Song%20%C3%A9.mp3\r\n"
        "https://radio.example/stream\r\n"
        "  spaced.wav  \r\n"
        "Windows\\Folder\\track.mp3\r\n"
    )
    path = tmp_path / "list.m3u8"
    path.write_bytes(text.encode("utf-8"))
    entries = read_playlist(path)
    assert where(entries) == [
        (tmp_path / "audio/settling.ogg", None),
        (Path("/srv/music/Bells é.flac"), None),
        (Path("/srv/music/My Song é.mp3"), None),
        (None, "https://radio.example/stream"),
        (tmp_path / "spaced.wav", None),
        (tmp_path / "Windows/Folder/track.mp3", None),
    ]
    assert [e.line for e in entries] == [3, 7, 9, 10, 11, 12]
    assert [(e.title, e.duration_s) for e in entries[:3]] == [
        ("Settling drone", 123.0),
        ("Bells, with a comma", None),
        (None, None),  # EXTINF belongs to the next entry only
    ]
    assert entries[2].location == "file:///srv/music/My%20Song%20%C3%A9.mp3"
    assert [e.offline for e in entries] == [False, False, False, True, False, False]


def test_plain_m3u_keeps_a_latin1_line(tmp_path: Path) -> None:
    path = tmp_path / "old.m3u"
    path.write_bytes(b"caf\xe9.mp3\nna\xc3\xafve.mp3\nfile:///m/%E9t%E9.ogg\n")
    entries = read_playlist(path)
    assert where(entries) == [
        (tmp_path / "café.mp3", None),
        (tmp_path / "naïve.mp3", None),  # a UTF-8 line in the same file stays UTF-8
        (Path("/m/été.ogg"), None),  # %E9 is not UTF-8: read as Latin-1
    ]


def test_m3u8_must_be_utf8_and_says_which_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.m3u8"
    path.write_bytes(b"#EXTM3U\na.mp3\ncaf\xe9.mp3\n")
    with pytest.raises(PlaylistError) as info:
        read_playlist(path)
    assert (info.value.file, info.value.line) == ("bad.m3u8", 3)
    assert str(info.value).startswith("bad.m3u8 line 3: is not UTF-8")
    assert str(pickle.loads(pickle.dumps(info.value))) == str(info.value)


def test_utf16_with_bom_and_old_mac_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "win.m3u"
    path.write_bytes(b"\xff\xfe" + "#EXTM3U\r\n#EXTINF:5,Ünï\r\nü.mp3\r\n".encode("utf-16-le"))
    assert [(e.path, e.title) for e in read_playlist(path)] == [(tmp_path / "ü.mp3", "Ünï")]
    mac = tmp_path / "mac.m3u"
    mac.write_bytes(b"a.mp3\rb.mp3\r")
    assert [e.line for e in read_playlist(mac)] == [1, 2]


def test_file_uri_forms(tmp_path: Path) -> None:
    path = tmp_path / "uris.m3u"
    path.write_text(
        "file://localhost/a/b.ogg\nfile:/c/d.ogg\nFILE:///e%2Ff.ogg\nfile://nas/share/g.ogg\n",
        encoding="utf-8",
    )
    assert [e.path for e in read_playlist(path)] == [
        Path("/a/b.ogg"),
        Path("/c/d.ogg"),
        Path("/e/f.ogg"),
        Path("//nas/share/g.ogg"),
    ]


def test_directories_duplicates_and_empty_files_are_just_entries(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "empty.mp3").write_bytes(b"")
    path = tmp_path / "odd.m3u"
    path.write_text("folder\nempty.mp3\nempty.mp3\nmissing.ogg\n", encoding="utf-8")
    assert [e.path for e in read_playlist(path)] == [
        tmp_path / "folder",
        tmp_path / "empty.mp3",
        tmp_path / "empty.mp3",
        tmp_path / "missing.ogg",
    ]


def test_empty_and_comment_only_playlists_have_no_entries(tmp_path: Path) -> None:
    for name, data in (("a.m3u", b""), ("b.m3u8", b"\xef\xbb\xbf#EXTM3U\r\n\r\n")):
        (tmp_path / name).write_bytes(data)
        assert read_playlist(tmp_path / name) == []


def test_not_a_playlist(tmp_path: Path) -> None:
    binary = tmp_path / "song.m3u"
    binary.write_bytes(b"ID3\x03\x00\x00\x00")
    with pytest.raises(PlaylistError, match="NUL"):
        read_playlist(binary)
    with pytest.raises(PlaylistError, match="cannot be read"):
        read_playlist(tmp_path / "missing.m3u")
    with pytest.raises(PlaylistError, match="cannot be read"):
        read_playlist(tmp_path)


def test_ten_thousand_entries(tmp_path: Path) -> None:
    lines = ["#EXTM3U"]
    for i in range(10_000):
        lines += [f"#EXTINF:{60 + i % 7},Track {i}", f"audio/track-{i % 500}.ogg"]
    path = tmp_path / "big.m3u8"
    path.write_text("\r\n".join(lines), encoding="utf-8")
    entries = read_playlist(path)
    assert len(entries) == 10_000 and entries[-1].title == "Track 9999"
    out = tmp_path / "big.xspf"
    write_xspf(entries, out)
    again = read_playlist(out)
    assert [(e.path, e.title, e.duration_s) for e in again] == [
        (e.path, e.title, e.duration_s) for e in entries
    ]
    # 10,000 known durations are ~175 hours: no session arc holds that.
    with pytest.raises(InvalidEntry, match="240 minutes"):
        arc_from_playlist(entries, "Big")
    untimed = [PlaylistEntry(e.location, e.path, e.url, e.title) for e in entries]
    arc = arc_from_playlist(untimed, "Big", phases=("onset", "peak", "return"), minutes=90)
    assert len(arc.tracks()) == 10_000 and arc.total_minutes == 90
    path = tmp_path / "big.arc.toml"
    write_arc(arc, path)
    loaded = load_arc(path)
    assert loaded == arc and len(loaded.warnings) == 9_500  # 500 files, each listed 20 times


# --- XSPF ------------------------------------------------------------------------------------

XSPF = """<?xml version="1.0" encoding="UTF-8"?>
<playlist version="1" xmlns="http://xspf.org/ns/0/">
  <title>Clinic</title>
  <trackList>
    <track>
      <location>file:///srv/music/My%20Song.flac</location>
      <title>My Song</title>
      <duration>271500</duration>
    </track>
    <track>
      <title>No location: left out</title>
    </track>
    <track>
      <location>audio/bells%20%C3%A9.ogg</location>
      <location>ignored-second.ogg</location>
      <duration>not a number</duration>
    </track>
    <track><location>http://example.org/x.mp3</location></track>
  </trackList>
</playlist>
"""


def test_xspf_reads_locations_titles_and_durations(tmp_path: Path) -> None:
    path = tmp_path / "list.xspf"
    path.write_text(XSPF, encoding="utf-8")
    entries = read_playlist(path)
    assert entries == [
        PlaylistEntry(
            "file:///srv/music/My%20Song.flac",
            Path("/srv/music/My Song.flac"),
            None,
            "My Song",
            271.5,
            5,
        ),
        PlaylistEntry(
            "audio/bells%20%C3%A9.ogg", tmp_path / "audio/bells é.ogg", None, None, None, 13
        ),
        PlaylistEntry("http://example.org/x.mp3", None, "http://example.org/x.mp3", line=18),
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
            '"&lol;&lol;&lol;">]>\n<playlist><trackList/></playlist>',
            "DOCTYPE",
        ),
        (
            '<?xml version="1.0"?>\n<!DOCTYPE p SYSTEM "file:///etc/passwd">\n<playlist/>',
            "DOCTYPE",
        ),
        ("<playlist><trackList><track>\n<location>&ext;</location>", "not valid XML"),
        ("<playlist><trackList>", "not valid XML"),
        ("<html><body/></html>", "not an XSPF playlist"),
        ("", "not valid XML"),
    ],
)
def test_hostile_or_broken_xspf_is_refused(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "bad.xspf"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlaylistError, match=problem) as info:
        read_playlist(path)
    assert info.value.file == "bad.xspf"


def test_an_unknown_suffix_is_sniffed(tmp_path: Path) -> None:
    xml = tmp_path / "list.txt"
    xml.write_text(XSPF, encoding="utf-8")
    assert len(read_playlist(xml)) == 3
    m3u = tmp_path / "list.pls-ish"
    m3u.write_text("a.ogg\n", encoding="utf-8")
    assert [e.path for e in read_playlist(m3u)] == [tmp_path / "a.ogg"]
    assert is_playlist_file(Path("x.M3U8")) and not is_playlist_file(Path("x.arc.toml"))


# --- writing and round trips -----------------------------------------------------------------

ODD_NAMES = [
    "plain.ogg",
    "with space é 🎵.flac",
    "#starts-with-hash.mp3",
    " leading space.wav",
    "new\nline.ogg",
    "percent%20literal.ogg",
    "http:not-a-url.ogg",
    "sub/dir/track.ogg",
]


def entries_for(tmp_path: Path) -> list[PlaylistEntry]:
    entries = [
        PlaylistEntry.for_path(tmp_path / name, title=f"T{i}", duration_s=60.0 + i)
        for i, name in enumerate(ODD_NAMES)
    ]
    entries.append(PlaylistEntry.for_path(Path("/elsewhere/abs.ogg")))
    entries.append(PlaylistEntry.for_path(tmp_path / "plain.ogg"))  # a duplicate
    entries.append(PlaylistEntry("https://x.example/a.mp3", None, "https://x.example/a.mp3"))
    return entries


def test_m3u8_and_xspf_round_trip_paths_titles_and_durations(tmp_path: Path) -> None:
    entries = entries_for(tmp_path)
    expected = [(e.path, e.url, e.title, e.duration_s) for e in entries]
    m3u = tmp_path / "out.m3u8"
    write_m3u8(entries, m3u)
    from_m3u = read_playlist(m3u)
    assert [(e.path, e.url, e.title, e.duration_s) for e in from_m3u] == expected
    assert "sub/dir/track.ogg\n" in m3u.read_text()  # relative inside the folder
    assert "/elsewhere/abs.ogg\n" in m3u.read_text()

    xspf = tmp_path / "out.xspf"
    write_xspf(from_m3u, xspf, title="Round trip")
    from_xspf = read_playlist(xspf)
    assert [(e.path, e.url, e.title, e.duration_s) for e in from_xspf] == expected

    write_m3u8(from_xspf, m3u)
    assert [(e.path, e.url, e.title, e.duration_s) for e in read_playlist(m3u)] == expected


def test_playlist_to_arc_to_file_to_playlist(tmp_path: Path) -> None:
    entries = entries_for(tmp_path)
    arc = arc_from_playlist(entries, "Imported Clinic List ✓", phases=("onset", "peak", "return"))
    assert arc.id == "imported-clinic-list" and arc.name == "Imported Clinic List ✓"
    assert [len(p.items) for p in arc.phases] == [4, 3, 3]  # 10 local entries, split evenly
    # Durations are known for the odd names only, so the default 60 minutes is shared.
    assert [(p.start_minutes, p.minutes) for p in arc.phases] == [(0, 20), (20, 20), (40, 20)]
    assert len(arc.warnings) == 1 and "https://x.example/a.mp3" in arc.warnings[0]
    first = arc.phases[0].items[0]
    assert isinstance(first, Track) and first.title == "T0"

    path = tmp_path / "imported.arc.toml"
    ok = [e for e in entries if e.path is not None and "\n" not in e.location]
    arc = arc_from_playlist(ok, "Imported")
    write_arc(arc, path)
    loaded = load_arc(path)
    assert loaded == arc
    back = playlist_from_arc(loaded)
    assert [(e.path, e.title) for e in back] == [
        (e.path, e.title or (e.path.stem if e.path else None)) for e in ok
    ]
    xspf = tmp_path / "from-arc.xspf"
    write_xspf(back, xspf)
    assert [e.path for e in read_playlist(xspf)] == loaded.tracks()


def test_arc_lengths_follow_known_durations() -> None:
    entries = [PlaylistEntry.for_path(Path(f"/m/{i}.ogg"), duration_s=90) for i in range(5)]
    arc = arc_from_playlist(entries, "x", phases=("a", "b"))
    assert [(p.start_minutes, p.minutes) for p in arc.phases] == [(0, 5), (5, 3)]
    assert arc.phase_at(5 * 60) is arc.phases[1]


def test_arc_from_playlist_refusals() -> None:
    url = PlaylistEntry("http://x/y", None, "http://x/y")
    one = PlaylistEntry.for_path(Path("/m/a.ogg"))
    with pytest.raises(InvalidEntry, match="no local files"):
        arc_from_playlist([url], "x")
    with pytest.raises(InvalidEntry, match="2 phases"):
        arc_from_playlist([one], "x", phases=("a", "b"))
    with pytest.raises(InvalidEntry, match="240"):
        arc_from_playlist([one], "x", minutes=500)
    with pytest.raises(InvalidEntry, match="240"):
        arc_from_playlist([one], "x", minutes=float("nan"))


def test_silences_are_left_out_of_playlists(tmp_path: Path) -> None:
    path = tmp_path / "s.arc.toml"
    path.write_text(
        '[arc]\nid = "s"\nname = "S"\n[[phases]]\nname = "p"\nstart_minutes = 0\nminutes = 1\n'
        'tracks = [{path = "a.ogg"}, {silence_s = 5}, {path = "b.ogg"}]\n',
        encoding="utf-8",
    )
    arc = load_arc(path)
    assert isinstance(arc.phases[0].items[1], Silence)
    assert [e.path for e in playlist_from_arc(arc)] == [tmp_path / "a.ogg", tmp_path / "b.ogg"]


# --- fuzz ------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".m3u", ".m3u8", ".xspf"])
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=300))
def test_any_bytes_are_entries_or_a_playlist_error(
    tmp_path: Path, suffix: str, data: bytes
) -> None:
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        entries = read_playlist(path)
    except PlaylistError as error:
        assert isinstance(error, InvalidEntry) and error.file == path.name
        return
    for entry in entries:
        assert (entry.path is None) != (entry.url is None)
        assert entry.line is not None and entry.line >= 1


xml_parts = st.sampled_from(
    [
        "<playlist>",
        "</playlist>",
        "<trackList>",
        "</trackList>",
        "<track>",
        "</track>",
        "<location>",
        "</location>",
        "<title>",
        "</title>",
        "<duration>",
        "</duration>",
        "a%20b.ogg",
        "file:///x/%ff",
        "http://h/",
        "-5",
        "1e999",
        "&amp;",
        "&bogus;",
        "<!DOCTYPE x>",
        "<![CDATA[c]]>",
    ]
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(xml_parts, max_size=20))
def test_xspf_shaped_bytes_are_entries_or_a_playlist_error(
    tmp_path: Path, parts: list[str]
) -> None:
    path = tmp_path / "fuzz.xspf"
    path.write_text("".join(parts), encoding="utf-8")
    try:
        entries = read_playlist(path)
    except PlaylistError:
        return
    for entry in entries:
        assert entry.duration_s is None or entry.duration_s > 0
    write_m3u8(entries, tmp_path / "fuzz.m3u8")
    assert [e.path for e in read_playlist(tmp_path / "fuzz.m3u8")] == [e.path for e in entries]
