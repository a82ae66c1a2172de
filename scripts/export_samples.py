"""Writes sample exports of a synthetic session (every kind of entry) through the real CLI, and
pictures of the PDFs' first pages for the README:

    PYTHONPATH=. .venv/bin/python scripts/export_samples.py [OUT_DIR]   (default docs/screenshots)

Needs pdftoppm (poppler-utils). The session is the one the export tests use
(tests/unit/rich_session.py): synthetic data only."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kapsession.cli import commands  # noqa: E402
from tests.unit.rich_session import build  # noqa: E402


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        built = build(Path(tmp) / "data")
        built.store.close()
        data = str(built.folder)
        jobs = {
            "summary": ["export", "--format", "pdf"],
            "handout-preparation": ["handout", "--which", "preparation"],
            "handout-integration": ["handout", "--which", "integration"],
        }
        for name, argv in jobs.items():
            pdf = Path(tmp) / f"{name}.pdf"
            if commands.main([*argv, "--data-dir", data, "-o", str(pdf)]) != 0:
                return 1
            subprocess.run(
                ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                 str(out / f"pdf-{name}")],
                check=True,
            )  # fmt: skip
            print(out / f"pdf-{name}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
