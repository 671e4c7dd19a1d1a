"""`python -m paretonas` is the `paretonas` console script."""

import sys

from paretonas.cli import main

sys.exit(main())
