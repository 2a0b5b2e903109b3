"""``python -m ringplus_tui``: the same as the ``ringplus-tui`` command."""

import sys

from .cli import main

sys.exit(main())
