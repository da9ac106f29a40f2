"""`python -m backprop_grader`: the command line."""

import sys

from .cli import main

sys.exit(main())
