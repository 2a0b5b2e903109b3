"""The command line: the entry point, its parser and the command handlers."""
