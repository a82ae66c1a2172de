#!/usr/bin/env bash
# Regenerates the README's screenshots from the real app under Xvfb, with synthetic data only.
#   scripts/screenshots.sh [OUT_DIR]     (default docs/screenshots)
#   SHOTS=review scripts/screenshots.sh  only the review screen and the course view
#   KAPSESSION="python -m ui.app" PYTHON=python ...   another interpreter than .venv's
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/screenshots}
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export out work XDG_CONFIG_HOME="$work/config" KAPSESSION_AUDIO_OUTPUT=dummy
export KAPSESSION=${KAPSESSION:-.venv/bin/kapsession} PYTHON=${PYTHON:-.venv/bin/python}
if [ "${SHOTS:-all}" = all ]; then
xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
  set -euo pipefail
  app() { $KAPSESSION --data-dir "$work/data" "$@" & pid=$!
    for i in $(seq 100); do w=$(xdotool search --onlyvisible --pid $pid --name "^kapsession" 2>/dev/null | head -1) && [ -n "$w" ] && break; sleep 0.1; done
    until xdotool windowfocus --sync "$w" 2>/dev/null; do sleep 0.1; done; sleep 0.8; }
  say() { xdotool type --delay 8 "$1"; xdotool key Return; sleep 0.4; }
  shot() { import -window root "$out/$1.png"; }

  app --rehearsal --time-scale 1
  say "q: I can feel the floor holding me"
  say "b: breathing slower, hands open"
  xdotool key alt+5; say "it was never mine to carry"
  xdotool type --delay 8 "half-typed note"
  shot due-check
  xdotool key ctrl+a BackSpace
  xdotool key alt+v; say "128/82 76 88"
  shot alert
  xdotool key alt+a; sleep 0.4
  shot live
  xdotool key ctrl+shift+e; sleep 0.8
  shot end-dialog
  xdotool key alt+r; xdotool type --delay 8 "screenshot run"; xdotool key Return; sleep 0.6
  shot home
  kill $pid; wait $pid || true
'
fi

# The review screen and the course view, on a synthetic course of three sessions
# (bench/review_data.py: vitals, an alert, notes with an amendment, music, a laptop sleep).
PYTHONPATH=. $PYTHON bench/review_data.py "$work/review" >/dev/null
# How many presses of K from the start reach the newest session's first alert.
export presses=$(PYTHONPATH=. $PYTHON -c "
from pathlib import Path; from kapsession.store import Store; from kapsession.review import build_review
s = Store.open(Path('$work/review'), create=False); r = build_review(s, s.sessions()[-1].id)
print(next(i for i, m in enumerate(r.markers) if m.lane == 'alerts') + 1)")
xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
  set -euo pipefail
  $KAPSESSION --data-dir "$work/review" & pid=$!
  for i in $(seq 100); do w=$(xdotool search --onlyvisible --pid $pid --name "^kapsession" 2>/dev/null | head -1) && [ -n "$w" ] && break; sleep 0.1; done
  until xdotool windowfocus --sync "$w" 2>/dev/null; do sleep 0.1; done; sleep 0.8
  shot() { import -window root "$out/$1.png"; }
  focus() { for i in $(seq 100); do r=$(xdotool search --onlyvisible --pid $pid --name "$1" 2>/dev/null | head -1) && [ -n "$r" ] && break; sleep 0.1; done
    until xdotool windowfocus --sync "$r" 2>/dev/null; do sleep 0.1; done; sleep 0.8; }
  # Nothing selected: Ctrl+R reviews the newest session, Ctrl+Shift+C shows its client.
  xdotool key ctrl+r; focus "^Review"
  for i in $(seq $presses); do xdotool key k; sleep 0.05; done; sleep 0.5
  shot review
  xdotool key ctrl+f; xdotool type --delay 8 "floor"; xdotool key Return; sleep 0.8
  shot review-search
  xdotool key ctrl+w; sleep 0.5
  focus "^kapsession"; xdotool key ctrl+shift+c; focus "^Course"
  shot course
  kill $pid; wait $pid || true
'
echo "screenshots written to $out"
