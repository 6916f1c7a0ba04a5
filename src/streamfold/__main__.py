"""``python -m streamfold``: the same as the ``streamfold`` command."""

from .cli import main

raise SystemExit(main())
