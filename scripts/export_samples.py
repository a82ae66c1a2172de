"""Writes sample exports of a synthetic session (every kind of entry, charted by a clinician and
signed) through the real CLI, and pictures of the PDFs for the README: the first page of each,
and the summary's Signatures section (cut from the page that holds it):

    PYTHONPATH=. .venv/bin/python scripts/export_samples.py [OUT_DIR]   (default docs/screenshots)

Needs pdftoppm, pdfinfo and pdftotext (poppler-utils). The session is the one the export tests use
(tests/unit/rich_session.py): synthetic data only."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kapsession.cli import commands  # noqa: E402
from tests.unit.rich_session import CLINICIAN, CLINICIAN_PIN, build  # noqa: E402

DPI = 80
PRESCRIBER, PRESCRIBER_PIN = "J. Okafor", "1357"
WORD = re.compile(
    r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="[\d.]+">Signatures</word>'
)


def signatures_png(pdf: Path, out: Path) -> None:
    """The Signatures section: from its heading (the last "Signatures" in the PDF, on its last
    page) down 64 points (the heading and two signatures), the page's full width, at the first
    pages' resolution."""
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    count = re.search(r"^Pages:\s+(\d+)", info.stdout, re.M)
    if count is None:
        raise SystemExit("export_samples: pdfinfo gave no page count for the summary")
    pages = int(count.group(1))
    boxes = subprocess.run(
        ["pdftotext", "-bbox", "-f", str(pages), "-l", str(pages), str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = WORD.findall(boxes)
    if not found:
        raise SystemExit(f"export_samples: no Signatures heading on page {pages} of the summary")
    top = max(0, int((float(found[-1]) - 12) * DPI / 72))
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(DPI), "-f", str(pages), "-l", str(pages), "-singlefile",
         "-y", str(top), "-H", str(64 * DPI // 72), "-x", "0", "-W", str(595 * DPI // 72),
         str(pdf), str(out)],
        check=True,
    )  # fmt: skip


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        built = build(Path(tmp) / "data", charting=True)
        built.store.close()
        data = str(built.folder)
        # Signed by the therapist who charted, co-signed by a prescriber (made up).
        os.environ["KAPSESSION_CLINICIAN_PIN"] = PRESCRIBER_PIN
        added = commands.main(
            ["clinicians", "add", "--data-dir", data, "--name", PRESCRIBER, "--role", "prescriber",
             "--credentials", "MD"]
        )  # fmt: skip
        if added != 0:
            return 1
        for who, pin, meaning in (
            (CLINICIAN, CLINICIAN_PIN, "reviewed and approved"),
            (PRESCRIBER, PRESCRIBER_PIN, "approved as prescriber"),
        ):
            os.environ["KAPSESSION_SIGNER_PIN"] = pin
            argv = ["sign", "--data-dir", data, "--session", "latest", "--as", who]
            if commands.main([*argv, "--meaning", meaning]) != 0:
                return 1
        jobs = {
            "summary": ["export", "--format", "pdf"],
            "form": ["export", "--format", "form"],
            "handout-preparation": ["handout", "--which", "preparation"],
            "handout-integration": ["handout", "--which", "integration"],
        }
        for name, argv in jobs.items():
            pdf = Path(tmp) / f"{name}.pdf"
            if commands.main([*argv, "--data-dir", data, "-o", str(pdf)]) != 0:
                return 1
            subprocess.run(
                ["pdftoppm", "-png", "-r", str(DPI), "-f", "1", "-l", "1", "-singlefile", str(pdf),
                 str(out / f"pdf-{name}")],
                check=True,
            )  # fmt: skip
            print(out / f"pdf-{name}.png")
            if name == "summary":
                signatures_png(pdf, out / "pdf-signatures")
                print(out / "pdf-signatures.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
