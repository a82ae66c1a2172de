"""The bundle's entry point: the same `main` as the installed `kapsession` gui-script (ui.app:main),
so the bundled binary opens the app and runs the subcommands (sessions, export, playlist check)."""

import sys

from ui.app import main

if __name__ == "__main__":
    sys.exit(main())
