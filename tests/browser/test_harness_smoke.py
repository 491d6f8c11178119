from tests.browser.lab import Notebook


def test_notebook_runs_cells(page, lab):
    nb = Notebook(page, lab, "smoke.ipynb", ["print(6 * 7)"]).open()
    nb.run(0)
    assert "42" in nb.output(0)
