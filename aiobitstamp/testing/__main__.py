"""``python -m aiobitstamp.testing``: run the local Bitstamp emulator until interrupted."""

from __future__ import annotations

import sys

from ._standalone import run_standalone

if __name__ == "__main__":
    sys.exit(run_standalone())
