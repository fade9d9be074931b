"""``python -m desam_client.cli``: the same as the ``desam`` command."""

from __future__ import annotations

import sys

if __name__ == "__main__":
    try:
        from desam_client.cli._main import main
    except KeyboardInterrupt:  # Ctrl-C while still importing
        sys.exit(130)
    sys.exit(main())
