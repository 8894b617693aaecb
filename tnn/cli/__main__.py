"""``python -m tnn.cli``: the ``tnn`` command."""

import sys

from tnn.cli import main

sys.exit(main())
