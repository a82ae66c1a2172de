#!/usr/bin/env bash
# Screenshots of the real app under Xvfb: scripts/screenshot.sh OUT.png [kapsession args...]
# Types a few synthetic notes on the live screen when started with --rehearsal.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1; shift
xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
  .venv/bin/kapsession "$@" & pid=$!
  for i in $(seq 50); do xdotool search --name "^kapsession" >/dev/null 2>&1 && break; sleep 0.2; done
  sleep 1.5; w=$(xdotool search --onlyvisible --name "^kapsession" | head -1); xdotool windowfocus --sync "$w" 2>/dev/null || true
  if [ -n "${KAPSESSION_SHOT_TYPE:-}" ]; then
    xdotool type --delay 20 "q: I can feel the floor holding me"; xdotool key Return; sleep 0.3
    xdotool type --delay 20 "breathing slower, hands open"; xdotool key Return; sleep 0.3
    xdotool key alt+5; xdotool type --delay 20 "it was never mine to carry"; xdotool key Return; sleep 0.5
  fi
  import -window root "'"$out"'"
  kill $pid' _ "$@"
