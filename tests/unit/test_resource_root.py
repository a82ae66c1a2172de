"""The shipped resources are found from the source tree and from inside a PyInstaller bundle."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kapsession.music import cue
from kapsession.storage import paths

REPO = Path(__file__).resolve().parent.parent.parent


def test_from_the_source_tree_the_chime_is_the_repositorys_file() -> None:
    assert not hasattr(sys, "_MEIPASS")
    assert paths.resource_root() == REPO
    assert cue.CHIME == REPO / "playlists" / "cues" / "soft-chime.wav"
    assert cue.CHIME.is_file()


def test_inside_a_bundle_resources_come_from_its_unpacked_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert paths.resource_root() == tmp_path
