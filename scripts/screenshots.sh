#!/usr/bin/env bash
# Regenerates the README's screenshots from the real app under Xvfb, with synthetic data only.
#   scripts/screenshots.sh [OUT_DIR]     (default docs/screenshots)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/screenshots}
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The first app run skips the encryption set-up (KAPSESSION_ENCRYPTION=off); the second shows it.
export out work XDG_CONFIG_HOME="$work/config"
xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
  set -euo pipefail
  app() { .venv/bin/kapsession "$@" & pid=$!
    for i in $(seq 100); do w=$(xdotool search --onlyvisible --pid $pid --name "^kapsession" 2>/dev/null | head -1) && [ -n "$w" ] && break; sleep 0.1; done
    until xdotool windowfocus --sync "$w" 2>/dev/null; do sleep 0.1; done; sleep 0.8; }
  say() { xdotool type --delay 8 "$1"; xdotool key Return; sleep 0.4; }
  shot() { import -window root "$out/$1.png"; }

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
  kill $pid; wait $pid || true

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
echo "screenshots written to $out"
