"""`python -m monitor`: the same as the `monitor` command."""

import sys

from monitor.tools.cli import main

sys.exit(main())
