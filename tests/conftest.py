"""Hypothesis profiles for the whole suite, chosen by HYPOTHESIS_PROFILE: `dev` (the default,
hypothesis' own counts: quick while working) and `ci` (./test: three times the examples, a
hundred whole stateful sessions). Neither has a deadline: a per-example time limit is a timed
assertion, and on a busy machine it fails tests that are right (seen: 283 ms for a short note
under load). Speed is for bench/. A test that sets its own max_examples keeps it under both."""

from __future__ import annotations

import os

from hypothesis import settings

# Fixtures shared by several folders (the Qt ones come from tests/qt/conftest.py).
pytest_plugins = ["helpers.nobody"]

# Every app and command started by the suites charts as a named clinician, so nothing prompts
# (DESIGN.md: scripted runs name the clinician through the environment). On a data folder with
# no clinician yet the app registers this one first; tests about clinicians set their own.
os.environ.setdefault("KAPSESSION_CLINICIAN", "Test Clinician")
os.environ.setdefault("KAPSESSION_CLINICIAN_PIN", "2468")

settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("ci", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
