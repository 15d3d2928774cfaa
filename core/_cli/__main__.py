"""``python -m naiad._cli``: the same as the ``naiad`` command."""

from __future__ import annotations

import sys

from . import main

sys.exit(main())
