"""The tutorials (Jupytext percent scripts in tutorials/) run top to bottom as notebooks, with
the assertions inside them: each checks what it teaches (moments against enumeration, a
temperature recovered), so a tutorial that drifts from the code fails here."""

from pathlib import Path

import jupytext
import pytest
from nbclient import NotebookClient

TUTORIALS = sorted((Path(__file__).parents[1] / "tutorials").glob("*.py"))


def test_there_are_tutorials():
    assert TUTORIALS, "tutorials/ holds no tutorial"


@pytest.mark.parametrize("script", TUTORIALS, ids=lambda path: path.stem)
def test_the_tutorial_runs_as_a_notebook(script, tmp_path):
    notebook = jupytext.read(script)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={
        "metadata": {"path": str(tmp_path)}
    }).execute()  # fmt: skip
    images = [
        output for cell in notebook.cells if cell.cell_type == "code"
        for output in cell.get("outputs", []) if "image/png" in output.get("data", {})
    ]  # fmt: skip
    assert images, f"{script.name} draws no plot"
