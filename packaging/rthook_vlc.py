"""PyInstaller runtime hook: point python-vlc and libVLC at the copies inside the bundle.

Runs before any application code. python-vlc reads PYTHON_VLC_LIB_PATH (which libvlc to load) and
PYTHON_VLC_MODULE_PATH (its plugin folder) when `vlc` is first imported; libVLC itself reads
VLC_PLUGIN_PATH. Without the plugin folder `vlc.Instance()` returns None. libvlccore is loaded
first, by its full path, so libvlc's own dependency on it resolves to the bundled copy rather than
to whatever VLC the machine has installed (or to nothing on a machine without VLC).
Nothing is changed when the bundle was built without libVLC: the app then falls back to silence
and says why, as it does on a machine without libVLC."""

import contextlib
import ctypes
import os
import sys

_base = getattr(sys, "_MEIPASS", os.path.dirname(sys.executable))
_plugins = os.path.join(_base, "vlc", "plugins")
if sys.platform.startswith("linux"):
    _lib, _core = "libvlc.so.5", "libvlccore.so.9"
elif sys.platform == "darwin":
    _lib, _core = "libvlc.dylib", "libvlccore.dylib"
else:
    _lib, _core = "libvlc.dll", "libvlccore.dll"
_lib_path, _core_path = os.path.join(_base, _lib), os.path.join(_base, _core)

if os.path.isfile(_lib_path) and os.path.isdir(_plugins):
    # On failure python-vlc reports the real problem when it loads libvlc itself.
    with contextlib.suppress(OSError):
        ctypes.CDLL(_core_path, mode=ctypes.RTLD_GLOBAL)
    os.environ["PYTHON_VLC_LIB_PATH"] = _lib_path
    os.environ["PYTHON_VLC_MODULE_PATH"] = _plugins
    os.environ["VLC_PLUGIN_PATH"] = _plugins
