"""Screenshots of the widget's pages in JupyterLab's light and dark themes."""

from __future__ import annotations

import textwrap

import pytest
from playwright.sync_api import expect

from tests import docs_screenshots
from tests.browser.lab import Notebook

STORE = textwrap.dedent(
    """
    import pathlib, random, registry_widget as rw
    client = rw.Client(STORE_FILE, user="ada")
    random.seed(7)
    files = pathlib.Path("files"); files.mkdir(exist_ok=True)
    models = client.registry("Models")
    models.add_protected_alias("production")
    models.create_collection(
        "cat-resnet", type="model", tags=["vision", "resnet"],
        description="ResNet-50 **cat detector** trained on *cats-v2*.\\n\\n"
                    "- input: 224×224 RGB\\n- output: 2 classes")
    for i in range(8):
        (files / f"w{i}.bin").write_bytes(bytes([i]) * (40_000 + i * 5000))
        (files / "config.json").write_text('{"arch": "resnet50"}')
        art = client.log_artifact(
            "cat-resnet", type="model",
            files={"model.safetensors": files / f"w{i}.bin", "config.json": files / "config.json"},
            metadata={"accuracy": round(0.85 + i * 0.01 + random.random() / 100, 4),
                      "loss": round(0.4 - i * 0.03, 3), "epochs": 10 + i,
                      "optimizer": {"name": "adamw", "lr": 3e-4, "betas": [0.9, 0.999]}},
            tags=["nightly"] if i % 3 else ["release"])
        aliases = {7: ["staging"], 5: ["production"]}.get(i, [])
        client.link(art, "Models/cat-resnet", aliases=aliases)
    (files / "d.csv").write_text("a,b\\n1,2\\n")
    ds = client.log_artifact("cats-v2", type="dataset", files=files / "d.csv")
    client.link(ds, "Datasets/cats", aliases=["train"])
    client.create_registry("Vision team", description="Models and evals of the vision team",
                           visibility="restricted", artifact_types=["model", "eval"])
    # A chain of runs: dataset -> train-vit -> cat-vit -> quantize -> cat-vit-int8.
    with client.start_run("train-vit", config={"lr": 3e-4, "arch": "vit-b16"}) as run:
        run.use("Datasets/cats:train")
        (files / "vit.bin").write_bytes(b"vit" * 1000)
        vit = run.log_artifact("cat-vit", type="model", files=files / "vit.bin")
        run.summary["accuracy"] = 0.93
        run.link(vit, "Models/cat-vit", aliases=["staging"])
    with client.start_run("quantize", config={"bits": 8}) as run:
        run.use("Models/cat-vit:staging")
        (files / "int8.bin").write_bytes(b"int8" * 500)
        int8 = run.log_artifact("cat-vit-int8", type="model", files=files / "int8.bin")
        run.link(int8, "Models/cat-vit", aliases=["production"])
    """
)


SIZES = [("light", 1400), ("dark", 1400), ("light", 1024), ("dark", 1024)]


def _show_file_browser(page) -> None:
    """Open JupyterLab's file browser in the left sidebar, as on a laptop at work."""
    browser = page.locator(".jp-FileBrowser")
    if not browser.is_visible():
        page.locator(".jp-SideBar.jp-mod-left [data-id='filebrowser']").click()
    expect(browser).to_be_visible()


@pytest.mark.parametrize(("theme", "width"), SIZES, ids=[f"{t}-{w}" for t, w in SIZES])
def test_screenshots(page, lab, screenshots, theme, width):
    lab.set_theme("JupyterLab Dark" if theme == "dark" else "JupyterLab Light")
    page.set_viewport_size({"width": width, "height": 900 if width < 1400 else 1000})
    suffix = theme if width == 1400 else f"{theme}-{width}"
    # The README's pictures come from here (light and dark at 1400 px): see docs_screenshots.
    readme = width == 1400
    try:
        nb = Notebook(
            page,
            lab,
            f"screens-{suffix}.ipynb",
            [f"STORE_FILE = 'screens-{suffix}.json'\n" + STORE, "w = rw.RegistryWidget(client)\nw"],
        ).open()
        if width < 1400:
            _show_file_browser(page)
        nb.run(0)
        assert "Error" not in nb.output(0)
        nb.run(1)
        widget = nb.cell(1).locator(".rw-app")
        expect(widget.locator(".rw-card[data-registry='Vision team']")).to_be_visible()
        background = widget.evaluate("el => getComputedStyle(el).backgroundColor")
        text = widget.evaluate("el => getComputedStyle(el).color")
        # The widget follows the theme: dark background and light text in the dark theme.
        bg_level = sum(int(v) for v in background[background.index("(") + 1 : -1].split(",")[:3])
        fg_level = sum(int(v) for v in text[text.index("(") + 1 : -1].split(",")[:3])
        assert (bg_level < fg_level) == (theme == "dark"), (background, text)
        widget.screenshot(path=str(screenshots / f"registries-{suffix}.png"))

        widget.locator(".rw-card[data-registry='Models'] .rw-card-title").click()
        expect(widget.get_by_role("link", name="cat-resnet")).to_be_visible()
        widget.screenshot(path=str(screenshots / f"registry-{suffix}.png"))

        widget.get_by_role("link", name="cat-resnet").click()
        expect(widget.locator("tr[data-version='v7']")).to_contain_text("staging")
        shot = widget.screenshot(path=str(screenshots / f"collection-{suffix}.png"))
        if readme:
            docs_screenshots.refresh("widget.png" if theme == "light" else "widget-dark.png", shot)

        widget.get_by_role("button", name="Link a version").click()
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_text("cat-resnet:v7")).to_be_visible()
        page.screenshot(path=str(screenshots / f"link-dialog-{suffix}.png"))
        dialog.get_by_role("button", name="Cancel").click()

        widget.get_by_role("link", name="Compare versions").click()
        chart = widget.locator(".rw-chart[data-metric='accuracy']")
        expect(chart).to_be_visible()
        # Charts share the width there is, not a fixed half-width each.
        charts = widget.locator(".rw-charts")
        page.wait_for_function(
            "c => c.querySelector('svg').getBoundingClientRect().width"
            " >= c.querySelector('.rw-chart').clientWidth - 24",
            arg=charts.element_handle(),
        )
        row = charts.evaluate("c => c.clientWidth")
        used = charts.evaluate(
            "c => [...c.querySelectorAll('.rw-chart')].slice(0, 2)"
            ".reduce((n, f) => n + f.getBoundingClientRect().width, 0)"
        )
        assert used >= row * 0.9, (used, row)
        if readme:  # the whole page in view, without JupyterLab's status bar across it
            page.set_viewport_size({"width": width, "height": 2000})
            widget.scroll_into_view_if_needed()
        shot = widget.screenshot(path=str(screenshots / f"compare-{suffix}.png"))
        if readme and theme == "light":
            docs_screenshots.refresh("compare.png", shot)
        page.set_viewport_size({"width": width, "height": 900 if width < 1400 else 1000})
        widget.locator(".rw-crumbs").get_by_role("link", name="cat-resnet").click()

        widget.get_by_role("link", name="v5", exact=True).click()
        expect(widget.get_by_text("model.safetensors")).to_be_visible()
        widget.screenshot(path=str(screenshots / f"version-{suffix}.png"))

        # The history of the collection (names never broken) and the settings of its registry.
        widget.locator(".rw-crumbs").get_by_role("link", name="cat-resnet").click()
        widget.locator(".rw-page-head").get_by_role("link", name="History").click()
        expect(widget.locator(".rw-history-table tbody tr").first).to_be_visible()
        widget.screenshot(path=str(screenshots / f"history-collection-{suffix}.png"))
        widget.locator(".rw-crumbs").get_by_role("link", name="Models").click()
        widget.get_by_role("link", name="Settings").click()
        types = widget.get_by_role("region", name="Accepted types")
        expect(types.locator("[data-type='model']")).to_contain_text("can never be removed")
        widget.screenshot(path=str(screenshots / f"settings-models-{suffix}.png"))

        # Lineage: the dataset, the run that trained cat-vit, where it is linked, and the
        # run that used it with what that run produced.
        widget.get_by_role(
            "searchbox", name="Search registries, collections, tags and aliases"
        ).fill("Models/cat-vit:v0")
        page.keyboard.press("Enter")
        graph = widget.locator(".rw-lineage-graph")
        expect(graph.locator(".rw-graph-node[data-label='quantize']")).to_be_visible()
        graph.scroll_into_view_if_needed()
        shot = graph.screenshot(path=str(screenshots / f"lineage-graph-{suffix}.png"))
        if readme and theme == "light":
            docs_screenshots.refresh("lineage.png", shot)

        widget.get_by_role(
            "searchbox", name="Search registries, collections, tags and aliases"
        ).fill("cat")
        page.keyboard.press("Enter")
        expect(widget.locator(".rw-results li").first).to_be_visible()
        widget.screenshot(path=str(screenshots / f"search-{suffix}.png"))
        page.screenshot(path=str(screenshots / f"page-{suffix}.png"))
        assert page.page_errors == []
    finally:
        lab.set_theme("JupyterLab Light")
