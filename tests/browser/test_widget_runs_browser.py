"""Runs and lineage in real JupyterLab: the graph, clicking through it, a run, the Runs page."""

from __future__ import annotations

import textwrap

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.lab import Notebook

# dataset → train-resnet → cat-resnet:v0 → finetune → cat-resnet-tuned:v0, where
# train-resnet also used a dataset linked only into the restricted registry Team (which bob,
# who looks at the widget, may not see); a failed run; a sweep of runs to sort and filter.
STORE = textwrap.dedent(
    """
    import pathlib, registry_widget as rw
    ada = rw.Client({store!r}, user="ada")
    ada.add_user("bob", "member")
    files = pathlib.Path("files-{store}"); files.mkdir(exist_ok=True)
    def write(name, text):
        (files / name).write_text(text)
        return files / name
    ada.registry("Models").add_protected_alias("production")
    ada.create_registry("Team", visibility="restricted")
    cats = ada.log_artifact("cats-images-2024-curated-and-relabelled", type="dataset",
                            files=write("cats.csv", "a,b\\n1,2\\n"))
    ada.link(cats, "Datasets/cats", aliases=["production"])
    secret = ada.log_artifact("secret-labels", type="dataset", files=write("s.csv", "s"))
    ada.link(secret, "Team/labels")
    with ada.start_run("train-resnet", config={{"lr": 0.003, "arch": "resnet50", "epochs": 12}},
                       tags=["baseline"]) as run:
        run.use("Datasets/cats:production")
        run.use("Team/labels:latest")
        model = run.log_artifact("cat-resnet", type="model", files=write("w0.bin", "w0"),
                                 metadata={{"acc": 0.91}})
        run.summary.update(acc=0.91, loss=0.22)
        run.link(model, "Models/cat-resnet", aliases=["staging"])
    with ada.start_run("finetune", config={{"lr": 0.0005, "arch": "resnet50", "epochs": 3}}) as tune:
        tune.use("Models/cat-resnet:staging")
        tuned = tune.log_artifact("cat-resnet-tuned", type="model", files=write("w1.bin", "w1"),
                                  metadata={{"acc": 0.94}})
        tune.summary["acc"] = 0.94
        tune.link(tuned, "Models/cat-resnet", aliases=["production"])
    try:
        with ada.start_run("broken-sweep", config={{"lr": 0.5}}) as bad:
            bad.use("Datasets/cats:production")
            raise RuntimeError("loss became NaN at step 412")
    except RuntimeError:
        pass
    for i, lr in enumerate((0.01, 0.03, 0.1)):
        with ada.start_run(f"sweep-{{i}}", config={{"lr": lr, "arch": "vit"}}) as s:
            s.summary["acc"] = round(0.7 + i / 20, 2)
    client = rw.Client({store!r}, user="bob")
    """
)

SIZES = [("light", 1400), ("dark", 1400), ("light", 1024), ("dark", 1024)]


def _open(page: Page, lab, name: str, route: str) -> tuple[Notebook, Locator]:
    nb = Notebook(
        page,
        lab,
        f"{name}.ipynb",
        [STORE.format(store=f"{name}.json"), f"w = rw.RegistryWidget(client, route={route!r})\nw"],
    ).open()
    nb.run(0)
    assert "Error" not in nb.output(0)
    nb.run(1)
    return nb, nb.cell(1).locator(".rw-app")


def _node(graph: Locator, label: str) -> Locator:
    return graph.locator(f".rw-graph-node[data-label='{label}']")


def test_lineage_graph_of_a_three_hop_chain_without_what_bob_may_not_see(page, lab, screenshots):
    _nb, widget = _open(page, lab, "runs-graph", "Models/cat-resnet:v0")
    graph = widget.locator(".rw-graph")
    expect(_node(graph, "train-resnet")).to_be_visible()
    labels = sorted(
        graph.locator(".rw-graph-node").evaluate_all("ns => ns.map(n => n.dataset.label)")
    )
    assert labels == sorted(
        [
            "cats-images-2024-curated-and-relabelled:v0",
            "Datasets/cats:v0",
            "train-resnet",
            "cat-resnet:v0",
            "Models/cat-resnet:v0",
            "finetune",
            "cat-resnet-tuned:v0",
            "Models/cat-resnet:v1",
        ]
    )
    # The dataset only Team may see is simply absent: no node, no edge, no word of it.
    assert "secret" not in graph.inner_html()
    assert "Team" not in graph.inner_html()
    assert graph.locator(".rw-graph-edge").count() == 7
    # Left to right: dataset, its link, the run, this version, its link, the next run, ...
    xs = {
        label: _node(graph, label).bounding_box()["x"]  # type: ignore[index]
        for label in (
            "cats-images-2024-curated-and-relabelled:v0",
            "train-resnet",
            "cat-resnet:v0",
            "finetune",
            "cat-resnet-tuned:v0",
        )
    }
    assert list(xs.values()) == sorted(xs.values())
    # A long name is cut to fit its box and said in full in its title.
    long = _node(graph, "cats-images-2024-curated-and-relabelled:v0")
    expect(long).to_have_attribute(
        "title", "cats-images-2024-curated-and-relabelled:v0 (dataset), linked as Datasets/cats:v0"
    )
    label = long.locator(".rw-graph-label")
    assert label.evaluate("el => el.scrollWidth > el.clientWidth")
    expect(_node(graph, "cat-resnet:v0")).to_have_attribute("aria-current", "page")

    # Mouse: the run's node opens the run's page.
    _node(graph, "train-resnet").click()
    expect(widget.locator(".rw-page-head h2")).to_contain_text("train-resnet")
    inputs = widget.get_by_label("Inputs", exact=True)
    expect(inputs.locator("li")).to_have_count(1)
    expect(inputs).to_contain_text("cats-images-2024-curated-and-relabelled:v0")
    widget.get_by_role("button", name="Back").click()

    # Keyboard: Tab reaches the nodes, Enter opens the one focused.
    graph = widget.locator(".rw-graph")
    _node(graph, "finetune").focus()
    page.keyboard.press("Tab")
    expect(_node(graph, "cat-resnet-tuned:v0")).to_be_focused()
    page.keyboard.press("Enter")
    expect(widget.locator(".rw-page-head h2")).to_have_text("Models/cat-resnet:v1")
    graph = widget.locator(".rw-graph")
    expect(_node(graph, "cat-resnet-tuned:v0")).to_have_attribute("aria-current", "page")
    # From the tuned model, the dataset is 4 steps up: one click shows more.
    expect(_node(graph, "train-resnet")).to_have_count(0)
    widget.get_by_role("button", name="← More upstream").click()
    expect(_node(graph, "train-resnet")).to_be_visible()
    expect(_node(graph, "cats-images-2024-curated-and-relabelled:v0")).to_be_visible()
    _node(graph, "Datasets/cats:v0").focus()
    page.keyboard.press("Enter")
    expect(widget.locator(".rw-page-head h2")).to_have_text("Datasets/cats:v0")
    assert page.page_errors == []


def test_run_page_of_a_failed_run_and_the_runs_page_sort_and_filter(page, lab):
    _nb, widget = _open(page, lab, "runs-page", "")
    widget.locator(".rw-page-head").get_by_role("link", name="Runs").click()
    rows = widget.locator("tr[data-run]")
    expect(rows).to_have_count(6)
    expect(widget.get_by_test_id("run-count")).to_have_text("6 runs")
    names = lambda: rows.evaluate_all("rs => rs.map(r => r.dataset.name)")  # noqa: E731
    assert names()[0] == "sweep-2"  # newest first
    # Config and summary values are columns, sortable both ways.
    widget.locator("button[data-sort='config.lr']").click()
    expect(widget.locator("th[aria-sort='descending']")).to_contain_text("lr")
    expect(rows.first).to_have_attribute("data-name", "broken-sweep")
    assert names() == ["broken-sweep", "sweep-2", "sweep-1", "sweep-0", "train-resnet", "finetune"]
    widget.locator("button[data-sort='config.lr']").click()
    expect(rows.first).to_have_attribute("data-name", "finetune")
    widget.locator("button[data-sort='summary.acc']").click()
    expect(rows.first).to_have_attribute("data-name", "finetune")
    assert names()[-1] == "broken-sweep"  # no acc: last
    # The filter box reads the grammar of the versions filter, over run fields.
    box = widget.get_by_label("Filter runs")
    box.fill("state:failed")
    expect(widget.get_by_test_id("run-count")).to_have_text("1 of 6 runs")
    expect(rows).to_have_count(1)
    box.fill("config.lr<0.02 arch=resnet50")
    expect(rows).to_have_count(2)
    box.fill("{oops")
    expect(widget.locator(".rw-invalid")).to_contain_text("not valid JSON")
    box.fill("broken")
    expect(rows).to_have_count(1)
    rows.first.get_by_role("link", name="broken-sweep").click()
    # The failed run's page: its state, the error's text, who, how long, what it used.
    expect(widget.locator(".rw-run-state")).to_have_text("failed")
    expect(widget.locator(".rw-run-error")).to_contain_text("loss became NaN at step 412")
    facts = widget.locator(".rw-facts")
    expect(facts).to_contain_text("by ada")
    expect(facts).to_contain_text("Duration")
    expect(widget.get_by_label("Config", exact=True)).to_contain_text("0.5")
    inputs = widget.get_by_label("Inputs", exact=True)
    inputs.get_by_role("link", name="cats-images-2024-curated-and-relabelled:v0").click()
    expect(widget.locator(".rw-page-head h2")).to_have_text("Datasets/cats:v0")
    assert page.page_errors == []


@pytest.mark.parametrize(("theme", "width"), SIZES, ids=[f"{t}-{w}" for t, w in SIZES])
def test_runs_and_lineage_screenshots(page, lab, screenshots, theme, width):
    lab.set_theme("JupyterLab Dark" if theme == "dark" else "JupyterLab Light")
    page.set_viewport_size({"width": width, "height": 1000})
    suffix = f"{theme}-{width}"
    try:
        _nb, widget = _open(page, lab, f"runs-shots-{suffix}", "Models/cat-resnet:v0")
        graph = widget.locator(".rw-graph")
        expect(_node(graph, "finetune")).to_be_visible()
        # The graph scrolls inside its frame rather than widening the page.
        wrap = widget.locator(".rw-graph-wrap")
        assert (
            wrap.evaluate("el => el.getBoundingClientRect().right")
            <= widget.evaluate("el => el.getBoundingClientRect().right") + 1
        )
        wrap.scroll_into_view_if_needed()
        widget.locator(".rw-lineage-graph").screenshot(
            path=str(screenshots / f"runs-lineage-{suffix}.png")
        )
        _node(graph, "train-resnet").click()
        expect(widget.get_by_label("Config", exact=True)).to_be_visible()
        widget.screenshot(path=str(screenshots / f"runs-run-{suffix}.png"))
        widget.locator(".rw-crumbs").get_by_role("link", name="Runs").click()
        expect(widget.locator("tr[data-run]")).to_have_count(6)
        widget.screenshot(path=str(screenshots / f"runs-list-{suffix}.png"))
        # Compare: each version's run config beside its metadata.
        widget.locator("tr[data-name='finetune']").get_by_role("link", name="finetune").click()
        widget.get_by_label("Outputs", exact=True).get_by_role("link").click()
        widget.locator(".rw-crumbs").get_by_role("link", name="cat-resnet").click()
        widget.get_by_role("link", name="Compare versions").click()
        widget.get_by_label("Compare v0").check()
        table = widget.locator(".rw-compare-table")
        expect(table.locator("tr[data-key='config.lr']")).to_contain_text("0.0005")
        expect(table.locator("tr[data-key='config.lr']")).to_contain_text("0.003")
        expect(table.get_by_role("link", name="train-resnet #1")).to_be_visible()
        expect(table.locator("tr[data-key='config.epochs']")).to_have_attribute(
            "data-differs", "true"
        )
        table.scroll_into_view_if_needed()
        table.screenshot(path=str(screenshots / f"runs-compare-{suffix}.png"))
        assert page.page_errors == []
    finally:
        lab.set_theme("JupyterLab Light")
