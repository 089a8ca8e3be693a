"""The core and the simulator never import Textual: they must run in scripts and servers."""

import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "ratelimit_tui"


def test_core_and_sim_do_not_import_textual():
    modules = sorted(
        ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        for folder in ("core", "sim") for path in (PACKAGE / folder).glob("*.py")
    )
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules)
            + "bad = [m for m in sys.modules if m == 'textual' or m.startswith('textual.')]\n"
            + "print(','.join(bad))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"Textual imported by the core: {result.stdout}"
