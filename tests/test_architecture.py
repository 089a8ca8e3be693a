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


def test_the_dashboard_module_loads_nothing_heavy_before_its_first_frame():
    """The first frame waits for every import of the app module: the SDK, the plot library,
    the simulator's HTTP stack, SQLite, the event log's RichLog and the header parser come
    later, in a thread or on first use."""
    heavy = ("openai", "plotext", "textual_plotext", "starlette", "uvicorn", "sqlite3",
             "_sqlite3", "httpx2", "textual.widgets._rich_log", "ratelimit_tui.core.headers")
    code = ("import sys\nimport ratelimit_tui.cli\nimport ratelimit_tui.tui.app\n"
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"loaded before the first frame: {result.stdout}"
