"""``python -m minigrad`` is the ``minigrad`` command."""

from minigrad.cli import main

raise SystemExit(main())
