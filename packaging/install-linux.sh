#!/usr/bin/env bash
# Installs the built bundle for the current user (no root): the folder, a `kapsession` command,
# the desktop entry and the icon. Run after packaging/build.sh:
#   packaging/install-linux.sh              from dist/kapsession
#   packaging/install-linux.sh DIR          from another bundle folder (e.g. an unpacked release)
#   packaging/install-linux.sh --uninstall  remove all of it again (the data folder is kept)
# Where: ~/.local/opt/kapsession, ~/.local/bin/kapsession, ~/.local/share/applications and
# ~/.local/share/icons (XDG_DATA_HOME is honoured).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
opt=$HOME/.local/opt/kapsession
bin=$HOME/.local/bin/kapsession
desktop=$data/applications/kapsession.desktop
icon=$data/icons/hicolor/scalable/apps/kapsession.svg

refresh() {
  command -v update-desktop-database >/dev/null && update-desktop-database -q "$data/applications" || true
  command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true
}

if [ "${1:-}" = --uninstall ]; then
  rm -rf "$opt" "$bin" "$desktop" "$icon"
  refresh
  echo "kapsession: removed the app; the data folder (${data}/kapsession) was left as it was."
  exit 0
fi

src=${1:-$here/../dist/kapsession}
[ -x "$src/kapsession" ] || { echo "install: no bundle at $src (run packaging/build.sh first)" >&2; exit 1; }
src=$(cd "$src" && pwd)

rm -rf "$opt.new"
mkdir -p "$(dirname "$opt")"
cp -a "$src" "$opt.new"
rm -rf "$opt"
mv "$opt.new" "$opt"
mkdir -p "$(dirname "$bin")"
ln -sfn "$opt/kapsession" "$bin"
# The launcher runs the installed binary by its full path: ~/.local/bin is not on every desktop
# session's PATH.
install -d "$(dirname "$desktop")" "$(dirname "$icon")"
sed "s|^Exec=kapsession|Exec=$opt/kapsession|" "$here/kapsession.desktop" >"$desktop"
chmod 644 "$desktop"
install -m644 "$here/kapsession.svg" "$icon"
refresh
echo "kapsession: installed into $opt; start it from the applications menu or run $bin"
