"""``python -m aiobitstamp ...`` is ``aiobitstamp ...``."""

import sys

from .cli import main

sys.exit(main())
