"""The async OAuth service the TUI, the command line and the agent share. No Textual here."""
