"""``python -m trial_templates ...`` is the ``supernas`` command."""
from trial_templates.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
