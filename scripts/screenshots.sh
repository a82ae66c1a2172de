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
# KAPSESSION / PYTHON: another kapsession to run (e.g. a worktree's code on a shared venv).
export KAPSESSION=${KAPSESSION:-.venv/bin/kapsession} PYTHON=${PYTHON:-.venv/bin/python}
# The first app run skips the encryption set-up (KAPSESSION_ENCRYPTION=off); the last shows it.
if [ "${SHOTS:-all}" = all ]; then
xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
  set -euo pipefail
  app() { $KAPSESSION "$@" & pid=$!
    for i in $(seq 100); do w=$(xdotool search --onlyvisible --pid $pid --name "^kapsession" 2>/dev/null | head -1) && [ -n "$w" ] && break; sleep 0.1; done
    until xdotool windowfocus --sync "$w" 2>/dev/null; do sleep 0.1; done; sleep 0.8; }
  say() { xdotool type --delay 8 "$1"; xdotool key Return; sleep 0.4; }
  shot() { import -window root "$out/$1.png"; }

  # The first launch on an empty folder: the welcome and the rehearsal offer.
  KAPSESSION_ENCRYPTION=off app --data-dir "$work/welcome"
  shot welcome
  kill $pid; wait $pid || true
  KAPSESSION_ENCRYPTION=off app --data-dir "$work/data" --rehearsal --time-scale 1
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
  # Before and after the medicine: the worksheet of the session just ended (pre-filled from its
  # tagged notes), then a new plan prepared with the client, the grounding script, and the dose
  # question warning about what screening left open.
  click() { xdotool mousemove "$1" "$2" click 1; sleep 0.3; }
  click 700 153; xdotool key alt+w; sleep 0.8
  xdotool key alt+2; xdotool type --delay 8 "Her hands opened when the music returned."; sleep 0.3
  shot worksheet
  xdotool key Escape; sleep 0.5; xdotool key Return; sleep 0.5
  click 330 122; xdotool type --delay 8 "C-014"
  click 330 268; xdotool key ctrl+a; xdotool type --delay 8 "200"
  click 330 455; xdotool type --delay 8 "To meet the grief with some softness"
  click 156 530; sleep 0.4
  click 700 153; xdotool key alt+p; sleep 0.8
  xdotool key Tab; xdotool type --delay 8 "To feel safe enough to let go"
  xdotool key Tab; xdotool type --delay 8 "Bracing against sadness"
  xdotool key Tab; xdotool type --delay 8 "Will I feel sick? What if I cry?"
  xdotool key Tab space Tab; xdotool type --delay 8 "Dr. Example (synthetic), 555-0100"
  xdotool key Tab Tab space; sleep 0.2; xdotool key ctrl+s; sleep 0.4
  shot preparation
  xdotool key alt+1; sleep 0.6; xdotool key space space; sleep 0.3
  shot grounding
  xdotool key Escape; sleep 0.3; xdotool key Escape; sleep 0.4
  click 686 752; sleep 0.6
  shot dose-warning
  xdotool key Escape; sleep 0.3
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
if [ "${SHOTS:-all}" = all ]; then
xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
  set -euo pipefail
  app() { $KAPSESSION "$@" & pid=$!
    for i in $(seq 100); do w=$(xdotool search --onlyvisible --pid $pid --name "^kapsession" 2>/dev/null | head -1) && [ -n "$w" ] && break; sleep 0.1; done
    until xdotool windowfocus --sync "$w" 2>/dev/null; do sleep 0.1; done; sleep 0.8; }
  say() { xdotool type --delay 8 "$1"; xdotool key Return; sleep 0.4; }
  shot() { import -window root "$out/$1.png"; }
  # First run on a new data folder: the set-up screen, then the lock over a running rehearsal.
  app --data-dir "$work/secure" --rehearsal --time-scale 1
  xdotool type --delay 8 "violet harbour lantern seven"; xdotool key Tab
  xdotool type --delay 8 "violet harbour lantern seven"; xdotool key Tab
  xdotool type --delay 8 "4821"
  shot setup
  xdotool key Return; sleep 2
  w=$(xdotool search --onlyvisible --pid $pid --name "^kapsession" | head -1)
  until xdotool windowfocus --sync "$w" 2>/dev/null; do sleep 0.1; done; sleep 0.5
  say "q: a note the lock must hide"
  xdotool type --delay 8 "half-typed"
  xdotool key ctrl+l; sleep 0.8
  shot lock
  xdotool type --delay 8 "1234"; xdotool key Return; sleep 0.8
  shot lock-wrong-pin
  xdotool type --delay 8 "4821"; xdotool key Return; sleep 0.8
  shot unlocked
  kill $pid; wait $pid || true
'
fi
echo "screenshots written to $out"
