"""core/sdk.py defers the openai.types packages' __init__ until a name is asked of them."""

import ast
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path


def test_every_openai_types_package_only_reexports():
    """What the deferral relies on: running such an __init__ later changes nothing but when."""
    root = Path(find_spec("openai.types").origin).parent
    inits = sorted(root.rglob("__init__.py"))
    assert len(inits) > 10
    for init in inits:
        body = ast.parse(init.read_text()).body
        kinds = {type(node).__name__ for node in body if not (
            isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))}  # docstring
        assert kinds <= {"ImportFrom"}, f"{init.relative_to(root)} does more than import: {kinds}"


def run(code: str) -> str:
    """In a fresh interpreter: the test process may have imported openai already."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_deferred_package_answers_every_name_it_reexports():
    out = run(
        "import sys\n"
        "from ratelimit_tui.core.sdk import openai\n"
        "types = sys.modules['openai.types']\n"
        "print('Batch' in vars(types))\n"  # not run at import
        "from openai.types import Batch\n"  # the first name asked for runs it
        "from openai.types.batch import Batch as Defined\n"
        "print(Batch is Defined, 'Batch' in vars(types), '__getattr__' in vars(types))\n"
        "print(openai.types.chat.ChatCompletion.__name__)\n"
        "try:\n    types.no_such_name\nexcept AttributeError as exc:\n    print(exc)\n")
    assert out.splitlines() == [
        "False", "True True False", "ChatCompletion",
        "module 'openai.types' has no attribute 'no_such_name'"]


def test_the_client_imports_a_fraction_of_the_types_and_not_aiohttp():
    loaded = run(
        "import sys\n"
        "from importlib.util import find_spec\n"
        "import ratelimit_tui.core.client\n"
        "from openai import DefaultAioHttpClient\n"
        "print(sum(m.startswith('openai.types.') for m in sys.modules))\n"
        "print('aiohttp' in sys.modules, DefaultAioHttpClient.__name__)\n"
        "if find_spec('aiohttp'):\n"  # the [serve] extra: refused only while openai loaded
        "    import openai._vendor.httpx_aiohttp\n")
    count, aiohttp = loaded.splitlines()
    assert aiohttp == "False _MissingAioHttpClient"  # as if not installed: it is never used
    everything = run("import sys\nimport openai\nimport ratelimit_tui.core.client\n"
                     "print(sum(m.startswith('openai.types.') for m in sys.modules))")
    assert int(count) * 3 < int(everything)
