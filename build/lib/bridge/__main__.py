"""`python -m bridge`: the operators' command line (see `bridge.cli`)."""

import sys

from bridge.cli import main

sys.exit(main())
