"""The SDK README's quick start runs as written, against the demo app `tidings up` writes to
demo-app.json (here the test stack's, as `make run` writes `.tidings/demo-app.json`)."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest

from services.embedded.stack import Stack

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "sdk" / "python" / "README.md"


def quick_start() -> str:
    text = README.read_text()
    section = text[text.index("## Quick start") :]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "no python block in the quick start"
    return match.group(1)


async def test_the_readme_example_runs_against_the_demo_app(stack: Stack) -> None:
    env = {**os.environ, "TIDINGS_DEMO_APP": str(stack.data_dir / "demo-app.json")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        quick_start(),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    printed = out.decode()
    print(printed)
    assert proc.returncode == 0, (printed, err.decode())
    for line in (
        "got 'hi Bob'",
        "got 'hello, group'",
        "got 'hi Alice'",
        "saw a recall of seq 1",
        "missed by bob-",
        ": 0 messages",
        "refused: 20003",
    ):
        assert line in printed, (line, printed)
    assert re.search(r"group message read by \['bob-\w+'\], not yet by \[\]", printed), printed
