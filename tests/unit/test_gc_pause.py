"""The exports pause Python's cyclic collector while they build (kapsession/gc_pause.py);
it must come back as it was, whatever happens inside."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from kapsession import gc_pause


@pytest.fixture(autouse=True)
def restore() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_paused_inside_and_back_after() -> None:
    gc.enable()
    with gc_pause.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_back_after_a_failure_inside() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), gc_pause.paused():
        raise RuntimeError("export failed")
    assert gc.isenabled()


def test_a_caller_that_disabled_it_keeps_it_disabled() -> None:
    gc.disable()
    with gc_pause.paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_the_exports_run_paused_and_leave_it_on(monkeypatch: pytest.MonkeyPatch) -> None:
    from kapsession.exports import fhir_bundle, pdf_summary

    seen: list[bool] = []

    def pdf(doc: object) -> bytes:
        seen.append(gc.isenabled())
        return b""

    def bundle(doc: object) -> dict[str, object]:
        seen.append(gc.isenabled())
        return {"entry": []}

    monkeypatch.setattr(pdf_summary, "_render", pdf)
    monkeypatch.setattr(fhir_bundle, "bundle_data", bundle)
    gc.enable()
    pdf_summary.render({})
    fhir_bundle.render({})
    assert seen == [False, False] and gc.isenabled()
