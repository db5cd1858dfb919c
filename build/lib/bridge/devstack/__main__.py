import sys

from bridge.devstack.cli import main

sys.exit(main())
