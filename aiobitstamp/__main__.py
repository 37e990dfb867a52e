"""``python -m aiobitstamp demo`` is ``aiobitstamp demo``."""

import sys

from .cli import main

sys.exit(main())
