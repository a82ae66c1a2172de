#!/usr/bin/env bash
# Sets up everything kapsession needs on a Debian/Ubuntu machine: the system packages for Qt,
# fonts and libVLC (installed when we are root or have password-less sudo, otherwise named in a
# clear message), a virtual environment in .venv and the Python packages.
#   scripts/bootstrap.sh app    what the app needs, plus the demo audio (generated once, with sox)
#   scripts/bootstrap.sh test   plus what the tests need (Xvfb, xdotool, sox, test extras, and
#                               PyInstaller: the suite builds the Linux bundle and smoke-starts it)
set -euo pipefail
cd "$(dirname "$0")/.."
want=${1:-app}

app_pkgs=(python3-venv libvlc5 vlc-plugin-base libvlc-bin fonts-dejavu-core libegl1 libgl1
  libfontconfig1 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4
  libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0
  libxcb-xkb1 libxcb-xfixes0 sox libsox-fmt-base
  # ffmpeg decodes every track for its loudness (kapsession/music/r128.py; libVLC's own decoder
  # through amem runs in real time only). Without it tracks play as mastered, no gain.
  ffmpeg
  # PDF exports: DejaVu (above) first, then Chinese/Japanese and emoji/symbols from these.
  fonts-droid-fallback fonts-symbola)
# poppler-utils: pdftotext/pdffonts read the PDF exports back in the tests.
# libsox-fmt-mp3: MP3 test audio; binutils: `strings` over the data folder (and objdump for
# PyInstaller); desktop-file-utils: the bundle's desktop file is validated.
test_pkgs=(xvfb xauth xdotool openbox x11-utils imagemagick sox poppler-utils libsox-fmt-mp3 binutils desktop-file-utils)
# postgresql: the clinic hub's tests start a private cluster of their own on loopback
# (tests/helpers/postgres.py); nothing runs the distribution's default cluster for them.
test_pkgs+=(postgresql)
# PyInstaller (the bundle the suite builds) needs Python's shared library.
pyver=$("${PYTHON:-python3}" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true)
[ -n "$pyver" ] && test_pkgs+=("libpython$pyver")
pkgs=("${app_pkgs[@]}")
[ "$want" = test ] && pkgs+=("${test_pkgs[@]}")

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    echo "kapsession: these system packages are missing and installing them needs root:" >&2
    echo "    sudo apt-get install --no-install-recommends ${missing[*]}" >&2
    echo "Run that once, then run this command again." >&2
    exit 1
  fi
  echo "kapsession: installing system packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq >/dev/null
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

py=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
stamp=.venv/.kapsession-$want-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$stamp" ]; then
  echo "kapsession: installing Python packages into .venv (first run only)" >&2
  target=.
  [ "$want" = test ] && target='.[test,package]'
  # Some package mirrors warn about every absent local index; keep real errors visible.
  .venv/bin/python -m pip install -q --disable-pip-version-check -e "$target" 2>&1 |
    grep -v "^WARNING: Location .* is ignored" >&2 || true
  .venv/bin/python -c "import kapsession, PySide6, sqlite_utils, apscheduler, vlc, pyebur128, mutagen" ||
    { echo "kapsession: the Python packages did not install; see the messages above." >&2; exit 1; }
  touch "$stamp"
fi

# The demo arcs' audio is synthesised here rather than committed; a no-op once manifest.json matches.
# Music is optional, so a failure is reported but does not stop the set-up.
.venv/bin/python scripts/make_demo_audio.py --quiet ||
  echo "kapsession: the demo audio was not generated; the app works, the demo arcs stay silent." >&2
