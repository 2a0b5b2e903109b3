"""Where things live: the settings file, the secret store (keyring or memory), paths, locks.

Knows the file system and the keyring; knows nothing of HTTP or screens.
"""
