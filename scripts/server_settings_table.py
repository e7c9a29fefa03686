"""Write the README's table of server settings from the declared list (portal/models/server_settings.py).
Run it after changing that list; tests/unit/test_server_settings.py fails until the two agree:

    .venv/bin/python scripts/server_settings_table.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from portal.models.server_settings import with_table  # noqa: E402 (after the path above)

README = ROOT / "README.md"


def main() -> int:
    README.write_text(with_table(README.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
