"""The published screenshots (docs/screenshots, written by scripts/screenshots.sh) show what they
claim only if no two are the same picture and every one the README shows exists. Pictures are
compared by their decoded pixels (Pillow, which reportlab already brings), not by their bytes: two
PNG encodings of one screen differ in bytes."""

from __future__ import annotations

import hashlib
import itertools
import re
from pathlib import Path

import pytest
from PIL import Image, ImageChops

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"
# Fewer changed pixels than this share of the picture is one screen with a blinking cursor or a
# repainted digit, not two screens.
NEAR = 0.0005


def _screenshots() -> list[Path]:
    return sorted(SHOTS.glob("*.png"))


def _pixels(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGBA")


def test_there_are_screenshots() -> None:
    assert len(_screenshots()) >= 2


def test_no_two_screenshots_are_the_same_picture() -> None:
    seen: dict[str, str] = {}
    same: list[str] = []
    for path in _screenshots():
        image = _pixels(path)
        digest = hashlib.sha256(f"{image.size}".encode() + image.tobytes()).hexdigest()
        if digest in seen:
            same.append(f"{path.name} = {seen[digest]}")
        seen.setdefault(digest, path.name)
    assert not same, f"the same picture under two names: {same}"


def test_no_two_screenshots_differ_only_by_a_few_pixels() -> None:
    images = {path.name: _pixels(path) for path in _screenshots()}
    close: list[str] = []
    for (a, first), (b, second) in itertools.combinations(images.items(), 2):
        if first.size != second.size:
            continue
        red, green, blue, alpha = ImageChops.difference(first, second).split()
        most = ImageChops.lighter(ImageChops.lighter(red, green), ImageChops.lighter(blue, alpha))
        count = most.point(lambda v: 255 if v else 0).histogram()[255]
        if count < NEAR * first.size[0] * first.size[1]:
            close.append(f"{a} ~ {b} ({count} pixels differ)")
    assert not close, f"one screen under two names: {close}"


def _references() -> list[tuple[str, str, Path]]:
    """(markdown file, reference, file) for every docs/screenshots picture the docs show."""
    found: list[tuple[str, str, Path]] = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)", text):
            resolved = (doc.parent / target).resolve()
            if resolved.parent == SHOTS:
                found.append((doc.name, target, resolved))
    return found


def test_the_readme_shows_screenshots() -> None:
    assert any(doc == "README.md" for doc, _, _ in _references())


@pytest.mark.parametrize(("doc", "target", "path"), _references())
def test_every_referenced_screenshot_exists(doc: str, target: str, path: Path) -> None:
    assert path.is_file(), f"{doc} shows {target}, which does not exist"
    with Image.open(path) as image:
        assert image.format == "PNG"
