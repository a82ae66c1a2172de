"""The command line: argument parsing and the subcommands, on top of every other room; only the program's entry point hands a subcommand to it."""
