"""The core (``supernas``) imports with the platform packages made unimportable."""
from __future__ import annotations

import subprocess
import sys
import textwrap

from conftest import REPO

BLOCKED = ("nni", "grpc", "kubernetes", "pytorch_lightning", "lightning")

SCRIPT = textwrap.dedent("""
    import importlib, pkgutil, sys

    BLOCKED = set(sys.argv[1:])

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is blocked for this test")
            return None

    sys.meta_path.insert(0, Blocker())
    for name in BLOCKED:  # the blocker really blocks
        try:
            importlib.import_module(name)
        except ImportError:
            pass
        else:
            raise SystemExit(f"{name} was importable")
    import supernas
    modules = [m.name for m in pkgutil.walk_packages(supernas.__path__, "supernas.")]
    for name in modules:
        importlib.import_module(name)
    leaked = BLOCKED & {n.split(".")[0] for n in sys.modules}
    assert not leaked, leaked
    print(len(modules))
""")


def test_core_imports_without_platform_packages() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT, *BLOCKED], check=False, cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert int(result.stdout.strip().splitlines()[-1]) >= 10  # every core module was imported
