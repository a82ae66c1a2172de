#!/usr/bin/env bash
# Builds the Linux one-folder bundle: dist/kapsession/ (run dist/kapsession/kapsession).
#   packaging/build.sh               set up .venv with the `package` extra if needed, then build
#   KAPSESSION_DEMO_AUDIO=0 packaging/build.sh    leave the ~13 MB of demo audio out
# Needs what scripts/bootstrap.sh installs (libvlc5, vlc-plugin-base, sox for the demo audio).
# PYTHON=/path/to/venv/bin/python uses that environment instead of .venv (it must have the
# `package` extra installed). KAPSESSION_DIST=DIR writes DIR/kapsession instead of dist/kapsession
# (the work files then go to DIR/.work). Ends by smoke-starting the bundle from an empty folder.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
start=$(date +%s)

if [ -n "${PYTHON:-}" ]; then
  py=$PYTHON
else
  scripts/bootstrap.sh app
  py=.venv/bin/python
  stamp=.venv/.kapsession-package-$(sha1sum pyproject.toml | cut -c1-12)
  if [ ! -f "$stamp" ]; then
    echo "kapsession: installing the packaging tools into .venv (first run only)" >&2
    "$py" -m pip install -q --disable-pip-version-check -e '.[package]'
    touch "$stamp"
  fi
fi
"$py" -c "import PyInstaller" 2>/dev/null ||
  { echo "build: PyInstaller is missing; install the extra: pip install -e '.[package]'" >&2; exit 1; }

if [ "${KAPSESSION_DEMO_AUDIO:-1}" = 1 ]; then
  "$py" scripts/make_demo_audio.py --quiet
fi

dist=${KAPSESSION_DIST:-dist}
mkdir -p "$dist"
dist=$(cd "$dist" && pwd)
work=build/pyinstaller
[ -n "${KAPSESSION_DIST:-}" ] && work=$dist/.work
rm -rf "$work" "$dist/kapsession"
"$py" -m PyInstaller --noconfirm --clean --log-level WARN \
  --workpath "$work" --distpath "$dist" packaging/kapsession.spec
bundle=$dist/kapsession

# libVLC's plugin cache: without it every libVLC start scans each plugin file. Built for the
# bundled folder (the cache stores paths relative to it, checked by size and time).
internal=$bundle/_internal
gen=${KAPSESSION_VLC_LIBDIR:-/usr/lib/x86_64-linux-gnu}/vlc/vlc-cache-gen
if [ -x "$gen" ]; then
  LD_LIBRARY_PATH="$internal" "$gen" "$internal/vlc/plugins" ||
    echo "build: vlc-cache-gen failed; libVLC will scan its plugins at each start" >&2
fi

# The smoke start a user's first launch amounts to: an empty folder, home and data directories.
clean=$(mktemp -d)
trap 'rm -rf "$clean"' EXIT
mkdir -p "$clean/home"
(cd "$clean" && env -i PATH=/usr/bin:/bin LANG=C.UTF-8 HOME="$clean/home" XDG_CONFIG_HOME="$clean/home/.config" \
  XDG_DATA_HOME="$clean/home/.local/share" XDG_RUNTIME_DIR="$clean" QT_QPA_PLATFORM=offscreen \
  "$bundle/kapsession" --smoke) ||
  { echo "build: the bundle did not smoke-start" >&2; exit 1; }

size=$(du -sh "$bundle" | cut -f1)
echo "kapsession: built $bundle ($size) in $(($(date +%s) - start)) s; it smoke-started."
