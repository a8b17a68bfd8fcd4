"""``python -m emostream`` is the ``emostream`` command."""

from emostream.cli import main

raise SystemExit(main())
