"""Running `kapsession` in-process, with what it said and how it ended."""

from __future__ import annotations

import pytest

from kapsession.cli import commands


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The exit code, standard output and standard error of `kapsession ARGV`, whether main
    returned or argparse exited."""
    try:
        code = commands.main(argv)
    except SystemExit as exc:  # argparse's refusals
        assert isinstance(exc.code, int)
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err
