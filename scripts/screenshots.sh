#!/usr/bin/env bash
# Regenerates the README's screenshots from the real app under Xvfb with openbox, synthetic data
# only; fails (exit 1, naming the shot, the window expected and the one active) when a window is
# not the one a shot means. The driver and its checks: scripts/screenshots.py.
#   scripts/screenshots.sh [OUT_DIR]               (default docs/screenshots)
#   scripts/screenshots.sh OUT_DIR --only review   write only some (every step still runs)
#   KAPSESSION=... PYTHON=... scripts/screenshots.sh   another kapsession or interpreter
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-.venv/bin/python}" scripts/screenshots.py "$@"
