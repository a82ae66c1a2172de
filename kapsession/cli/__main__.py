"""`python -m kapsession.cli`: the command line without the GUI entry point."""

import sys

from kapsession.cli.commands import main

if __name__ == "__main__":
    sys.exit(main())
