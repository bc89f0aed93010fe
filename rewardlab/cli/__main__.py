"""``python -m rewardlab.cli``: the same as the ``rewardlab`` console script; imports only :mod:`rewardlab.cli`."""

from __future__ import annotations

import sys

from rewardlab.cli import main

if __name__ == "__main__":
    sys.exit(main())
