"""``python -m emostream`` is the ``emostream`` command."""

from .cli import main

raise SystemExit(main())
