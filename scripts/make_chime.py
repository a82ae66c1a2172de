"""Writes playlists/cues/soft-chime.wav: the optional check-due chime, synthesised here so it is
royalty-free and reproducible. A quiet bell (two soft partials, slow decay, no sharp attack).

    .venv/bin/python scripts/make_chime.py
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 44_100
SECONDS = 1.8
OUT = Path(__file__).resolve().parent.parent / "playlists" / "cues" / "soft-chime.wav"


def sample(i: int) -> float:
    t = i / RATE
    attack = min(1.0, t / 0.03)  # 30 ms fade-in: no click
    decay = math.exp(-t * 2.6)
    tone = 0.7 * math.sin(2 * math.pi * 523.25 * t) + 0.3 * math.sin(2 * math.pi * 784.0 * t)
    return 0.18 * attack * decay * tone  # about -15 dBFS at its peak: soft by design


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    frames = b"".join(
        struct.pack("<h", round(32767 * sample(i))) for i in range(int(RATE * SECONDS))
    )
    with wave.open(str(OUT), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(frames)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
