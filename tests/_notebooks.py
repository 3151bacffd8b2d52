"""Run a committed notebook end to end and read what it printed and displayed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("nbformat")  # the dev extra, as nbclient and ipykernel
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")  # the kernel the notebooks run in
pytest.importorskip("nbconvert")  # the HTML export the tests check
import nbformat
from nbclient import NotebookClient


def assert_committed_without_outputs(path: Path) -> Any:
    """The notebook as committed: no outputs, no execution counts. Returns it."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    return nb


def execute(path: Path, *, extra_cells: Sequence[str] = (), timeout: int = 60) -> Any:
    """Execute the notebook (in its own folder, in a fresh kernel that inherits os.environ),
    with ``extra_cells`` (code run after the last cell, e.g. to report state to the test),
    and return the executed notebook.

    Streams are coalesced as a notebook server would save them: one stream output per name
    and cell, not one per printed chunk (which exported HTML shows one per line).
    """
    nb = nbformat.read(path, as_version=4)
    nb.cells.extend(nbformat.v4.new_code_cell(source) for source in extra_cells)
    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        coalesce_streams=True,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    return nb


def text_of(nb: Any) -> str:
    """The stream output and any error tracebacks of an executed notebook."""
    text = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                text.append(output["text"])
            elif output.get("output_type") == "error":
                text.append("\n".join(output["traceback"]))
    return "".join(text)


def displayed(nb: Any, mime: str) -> list[str]:
    """Every displayed output of type ``mime`` (``text/html``, ``image/png``), in order."""
    return [
        output["data"][mime]
        for cell in nb.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") in ("display_data", "execute_result")
        and mime in output.get("data", {})
    ]


FIRST_RUN_NOTICES = ("Matplotlib is building the font cache",)
"""stderr lines a first run in a fresh environment may print, and nothing to worry about."""


def assert_streams_coalesced(nb: Any) -> None:
    """At most one stdout and one stderr output per cell, and nothing on stderr (warnings)
    but the first-run notices."""
    for index, cell in enumerate(nb.cells):
        streams = [o for o in cell.get("outputs", []) if o["output_type"] == "stream"]
        names = [o["name"] for o in streams]
        assert len(names) == len(set(names)), (index, names)
        for output in streams:
            if output["name"] == "stderr":
                lines = output["text"].splitlines()
                assert all(line.startswith(FIRST_RUN_NOTICES) for line in lines), (index, lines)


def assert_exports_cleanly(nb: Any) -> str:
    """Export the executed notebook to HTML, as ``jupyter nbconvert --to html`` does, and check
    the page: every chart the notebook displayed is embedded in it, no cell's printed output is
    split over several blocks (at most one stdout block per code cell), no stderr block (but
    the first-run notices) and no error. Returns the HTML."""
    from nbconvert import HTMLExporter

    html: str = HTMLExporter().from_notebook_node(nb)[0]
    code_cells = sum(1 for cell in nb.cells if cell.cell_type == "code")
    stdout_blocks = html.count('jp-OutputArea-output" data-mime-type="text/plain"')
    assert 0 < stdout_blocks <= code_cells, (stdout_blocks, code_cells)
    stderr = re.findall(
        r'data-mime-type="application/vnd.jupyter.stderr"[^>]*>\s*<pre>(.*?)</pre>', html, re.S
    )
    assert all(text.strip().startswith(FIRST_RUN_NOTICES) for text in stderr), stderr
    charts = len(displayed(nb, "image/png"))
    assert html.count('src="data:image/png;base64,') == charts
    return html


def run(path: Path) -> str:
    """Execute the notebook, check its HTML export, and return its stream output and any
    error tracebacks."""
    nb = execute(path)
    assert_exports_cleanly(nb)
    return text_of(nb)
