"""The timeline entries the arc player records, through ``record(kind, data)``:

- ``phase`` {name, begins_t}: the arc entered a phase (``begins_t``: its planned start).
- ``track_started`` {title, path, phase, position, item, loudness_lufs, gain_db}: ``position``
  is the playback position in seconds (0.0 for a fresh start), ``item`` the track's 1-based
  place in its phase, ``loudness_lufs`` its measured EBU R128 loudness (None: not measured) and
  ``gain_db`` the gain it plays with (0.0 without a measurement); a phase's softer or deeper
  alternate, played on Alt+[ / Alt+], also has ``alternate`` ("softer" or "deeper").
- ``track_ended`` {title, path, position}: the track was let go (it ended, or its fade out
  began); ``position`` in seconds into the track.
- ``skip`` {title, path}: the therapist skipped the item (title "" for a silence).
- ``volume`` {volume}: the master volume asked for (the ramp follows).
- ``silence`` {on}: the one-key fade to silence and back.
- ``pause`` {on}: music paused or resumed.
- ``playback_fault`` {path, detail}: an error, an early end or a stall; the next item plays.
"""

from __future__ import annotations

from collections.abc import Callable

from kapsession.music.arc import Item, Phase, Track

Record = Callable[[str, dict[str, object]], object]

# Every kind of timeline entry the music records.
MUSIC_KINDS = frozenset(
    {
        "phase",
        "track_started",
        "track_ended",
        "skip",
        "volume",
        "silence",
        "pause",
        "playback_fault",
    }
)


def phase_entry(phase: Phase) -> dict[str, object]:
    return {"name": phase.name, "begins_t": phase.start_s}


def track_started_entry(
    track: Track,
    phase: Phase,
    item_index: int,
    loudness_lufs: float | None = None,
    gain_db: float = 0.0,
) -> dict[str, object]:
    """``item_index``: the track's 0-based place in its phase."""
    return {
        "title": track.title,
        "path": str(track.path),
        "phase": phase.name,
        "position": 0.0,
        "item": item_index + 1,
        "loudness_lufs": loudness_lufs,
        "gain_db": gain_db,
    }


def track_ended_entry(track: Track, position: float) -> dict[str, object]:
    return {"title": track.title, "path": str(track.path), "position": round(position, 3)}


def skip_entry(item: Item) -> dict[str, object]:
    track = item if isinstance(item, Track) else None
    return {"title": track.title if track else "", "path": str(track.path) if track else ""}


def fault_entry(track: Track, detail: str) -> dict[str, object]:
    return {"path": str(track.path), "detail": detail}
