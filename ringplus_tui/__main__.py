"""``python -m ringplus_tui``: the same as the ``ringplus-tui`` command."""

import sys

from ringplus_tui.cli.main import main

sys.exit(main())
