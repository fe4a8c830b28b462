"""`python -m influxdb_operator.kubectl` (also installed as `kubectl-influxdb`)."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
