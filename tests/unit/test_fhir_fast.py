"""The FHIR export is written from plain data without running the fhir.resources models (they
cost ~6 s on a 4-hour session); validation runs on demand (`render(validate=True)`, `kapsession
export --format fhir --validate`) and here. These tests hold the fast path to what the models
accept and to what the validated path writes, on real sessions in real SQLite files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pydantic
import pytest
from fhir.resources.R4B.bundle import Bundle
from helpers.cli import run

from bench.review_data import T0, big_session
from kapsession.clock import FakeClock
from kapsession.exports import fhir_bundle, session_export, timeline_json
from kapsession.storage.store import Store

from . import rich_session as rs

INSTANT = "0000-00-00T00:00:00"  # the shape of a FHIR dateTime with a time


def _instants_as_moments(value: Any) -> Any:
    """The JSON with every date-time string as the moment it names: the models write
    "2026-03-02T09:05:00Z" for the export's "2026-03-02T09:05:00.000Z", the same instant."""
    if isinstance(value, dict):
        return {k: _instants_as_moments(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_instants_as_moments(v) for v in value]
    if isinstance(value, str) and len(value) >= len(INSTANT) and value[10:11] == "T":
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    return value


def _check_fast_path(doc: dict[str, Any]) -> dict[str, Any]:
    fast = fhir_bundle.render(doc)
    # The old path (validate, then write) writes the very same bytes.
    assert fast == fhir_bundle.render(doc, validate=True)
    assert session_export.render(doc, "fhir") == fast.encode("utf-8")
    # The models accept it, and read it back without adding, dropping or converting anything.
    model = Bundle.model_validate_json(fast)
    written: dict[str, Any] = json.loads(fast)
    assert _instants_as_moments(json.loads(model.model_dump_json(exclude_none=True))) == (
        _instants_as_moments(written)
    )
    return written


@pytest.fixture
def long_session(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A 4-hour session (bench/review_data.py): vitals every minute, checks, observations,
    music, notes, written through Store.append."""
    store = Store.open(tmp_path / "long")
    try:
        clock = FakeClock(T0)
        session_id = big_session(store, clock, entries=1_500)
        yield timeline_json.timeline(store, session_id, clock.now())
    finally:
        store.close()


def test_the_fast_bundle_of_a_long_session_validates_and_equals_the_validated_one(
    long_session: dict[str, Any],
) -> None:
    written = _check_fast_path(long_session)
    kinds = [e["resource"]["resourceType"] for e in written["entry"]]
    assert kinds.count("Observation") > 600 and "QuestionnaireResponse" in kinds


@pytest.mark.parametrize("rehearsal", [False, True])
def test_the_fast_bundle_of_every_kind_of_entry_validates_and_equals_the_validated_one(
    tmp_path: Path, rehearsal: bool
) -> None:
    built = rs.build(tmp_path / "data", rehearsal=rehearsal)
    try:
        doc = timeline_json.timeline(built.store, built.session_id, built.clock.now())
    finally:
        built.store.close()
    written = _check_fast_path(doc)
    assert ("meta" in written) is rehearsal


def test_validation_on_demand_refuses_what_the_fast_path_would_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bundle the models refuse: written as it is by default, refused with validate=True."""
    built = rs.build(tmp_path / "data")
    try:
        doc = timeline_json.timeline(built.store, built.session_id, built.clock.now())
    finally:
        built.store.close()
    real = fhir_bundle.bundle_data

    def spoiled(d: Any) -> dict[str, Any]:
        data = real(d)
        data["entry"][-1]["resource"]["authored"] = "at the peak"  # not a FHIR dateTime
        return data

    monkeypatch.setattr(fhir_bundle, "bundle_data", spoiled)
    assert "at the peak" in fhir_bundle.render(doc)
    with pytest.raises(pydantic.ValidationError):
        fhir_bundle.render(doc, validate=True)
    with pytest.raises(ValueError, match="only the FHIR export"):
        session_export.render(doc, "json", validate=True)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    built = rs.build(tmp_path / "data")
    built.store.close()
    return built.folder


def test_export_validate_writes_a_bundle_the_models_accept(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "s.fhir.json"
    argv = ["export", "--data-dir", str(data), "--format", "fhir", "--validate", "-o", str(target)]
    assert run(argv, capsys) == (0, "", "")
    Bundle.model_validate_json(target.read_bytes())


def test_export_validate_of_a_refused_bundle_writes_nothing(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = fhir_bundle.bundle_data

    def spoiled(d: Any) -> dict[str, Any]:
        out = real(d)
        out["entry"][0]["resource"]["identifier"][0]["value"] = 17  # not a string
        return out

    monkeypatch.setattr(fhir_bundle, "bundle_data", spoiled)
    target = tmp_path / "s.fhir.json"
    argv = ["export", "--data-dir", str(data), "--format", "fhir", "--validate", "-o", str(target)]
    code, out, err = run(argv, capsys)
    assert (code, out) == (2, "")
    assert err == (
        "kapsession: The fhir export could not be made (ValidationError); nothing was written.\n"
    )
    assert not target.exists()


def test_export_validate_is_for_fhir_only(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "s.pdf"
    argv = ["export", "--data-dir", str(data), "--format", "pdf", "--validate", "-o", str(target)]
    code, out, err = run(argv, capsys)
    assert (code, out) == (2, "")
    assert err == "kapsession: --validate checks a FHIR bundle: use it with --format fhir.\n"
    assert not target.exists()
