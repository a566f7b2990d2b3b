"""``python -m reference_server [--host H] [--port P] [--api-key KEY] [--profile FILE]``."""

import sys

from ._cli import main

sys.exit(main(prog="python -m reference_server"))
