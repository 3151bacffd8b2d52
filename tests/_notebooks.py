"""Run a committed notebook end to end and read what it printed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient


def assert_committed_without_outputs(path: Path) -> Any:
    """The notebook as committed: no outputs, no execution counts. Returns it."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    return nb


def run(path: Path) -> str:
    """Execute the notebook (in its own folder, in a fresh kernel that inherits os.environ)
    and return its stream output and any error tracebacks."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    text = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                text.append(output["text"])
            elif output.get("output_type") == "error":
                text.append("\n".join(output["traceback"]))
    return "".join(text)
