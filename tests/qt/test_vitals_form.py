"""The vitals form: nothing pre-filled, the same validation as the one-line entry."""

from __future__ import annotations

from kapsession.vitals import Vitals
from ui.vitals_form import VitalsForm


def test_an_untouched_form_saves_nothing_and_names_the_first_missing_field(qtbot) -> None:
    saved: list[Vitals] = []
    form = VitalsForm(saved.append)
    qtbot.addWidget(form)
    assert all(form.value(name) is None for name in form.fields)
    form._on_save()
    assert saved == []
    assert "Systolic is required" in form.error.text()


def test_filled_fields_save_vitals_and_optional_ones_stay_empty(qtbot) -> None:
    saved: list[Vitals] = []
    form = VitalsForm(saved.append)
    qtbot.addWidget(form)
    for name, value in (("systolic", 128), ("diastolic", 82), ("heart_rate", 76), ("spo2", 98)):
        form.fields[name].setValue(value)
    form.fields["temperature"].setValue(36.8)
    form._on_save()
    assert saved == [Vitals(128, 82, 76, 98, None, 36.8)]
    assert form.result() == VitalsForm.DialogCode.Accepted


def test_systolic_not_above_diastolic_is_refused_by_the_core(qtbot, live) -> None:
    form = VitalsForm(live.add_vitals)
    qtbot.addWidget(form)
    for name, value in (("systolic", 80), ("diastolic", 90), ("heart_rate", 76), ("spo2", 98)):
        form.fields[name].setValue(value)
    form._on_save()
    assert "Systolic must be higher than diastolic" in form.error.text()
    assert [e for e in live.events() if e.kind == "vitals"] == []
