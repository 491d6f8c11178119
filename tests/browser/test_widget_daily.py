"""Daily use in real JupyterLab: aliases up front, words and layout at a laptop's width."""

from __future__ import annotations

import textwrap

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.lab import Notebook

STORE = textwrap.dedent(
    """
    import pathlib, registry_widget as rw
    client = rw.Client({store!r}, user="ada")
    files = pathlib.Path("files-{store}"); files.mkdir(exist_ok=True)
    models = client.registry("Models")
    models.add_protected_alias("production")
    client.create_registry(
        "Vision", description="Every **model** we ship. ![beacon](https://tracker.invalid/p.gif)")
    models.create_collection("cat-resnet", type="model", tags=["vision"])
    for i in range(30):
        (files / f"w{{i}}.bin").write_bytes(bytes([i]) * 50)
        art = client.log_artifact(
            "cat-resnet", type="model", files={{"model.safetensors": files / f"w{{i}}.bin"}},
            metadata={{"validation_accuracy": 0.8 + i / 200, "training_loss": 0.5 - i / 100,
                      "learning_rate_schedule": "cosine-with-warmup", "epochs": 10 + i}},
            tags=["nightly-candidate-build"])
        client.link(art, "Models/cat-resnet",
                    aliases={{3: ["production"], 29: ["staging"]}}.get(i, []))
    for name in ("resnet-small", "vit-base", "convnext"):
        models.create_collection(name, type="model")
    (files / "raw.csv").write_text("a,b\\n1,2\\n")
    client.log_artifact("cats-raw", type="dataset", files=files / "raw.csv", metadata={{"rows": 1}})
    """
)

# Words split across two lines: those matching `split` inside each of `cells` (the element
# itself when null), of 2-24 characters, or any length when `hyphenated` (only words with a
# hyphen then; long identifiers such as digests may wrap).
BROKEN = """
(el, {cells, split, hyphenated}) => {
  const broken = [];
  for (const root of cells ? el.querySelectorAll(cells) : [el]) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.textContent.matchAll(new RegExp(split, "g"))) {
        const word = m[0];
        if (hyphenated ? !word.includes("-") : word.length < 2 || word.length > 24) continue;
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + word.length);
        const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
        if (tops.size > 1) broken.push(word);
      }
    }
  }
  return broken;
}
"""
# Any word of the widget.
BROKEN_WORDS = {"cells": None, "split": "[^\\s]+", "hyphenated": False}


def _open(
    page: Page, lab, name: str, route: str, more: str = "", user: str = "client"
) -> tuple[Notebook, Locator]:
    """The widget of ``user`` (a client the first cell made) over the store, at ``route``.

    ``more`` is run after the store is built, in the same cell (``{store}``: its file).
    """
    store = f"{name}.json"
    setup = STORE.format(store=store) + textwrap.dedent(more).format(store=store)
    nb = Notebook(
        page,
        lab,
        f"{name}.ipynb",
        [setup, f"w = rw.RegistryWidget({user}, route={route!r})\nw"],
    ).open()
    nb.run(0)
    assert "Error" not in nb.output(0)
    nb.run(1)
    return nb, nb.cell(1).locator(".rw-app")


def test_collection_page_shows_where_each_alias_is_and_offers_the_meaningful_one(page, lab):
    _nb, widget = _open(page, lab, "daily-aliases", "Models/cat-resnet")
    summary = widget.get_by_label("Aliases", exact=True)
    # production is on page 2 of the versions (v3 of 30), and up front all the same.
    expect(summary).to_contain_text("production → v3")
    expect(summary).to_contain_text("staging → v29")
    expect(widget.locator("tr[data-version='v3']")).to_have_count(0)
    # The snippet uses the protected alias, not `latest`; the others are offered.
    snippet = widget.locator(".rw-snippet code")
    expect(snippet).to_contain_text('client.use("Models/cat-resnet:production")')
    widget.locator(".rw-snippet-choices").get_by_role("button", name="staging").click()
    expect(snippet).to_contain_text('client.use("Models/cat-resnet:staging")')
    summary.get_by_role("link", name="production → v3").click()
    expect(widget.locator(".rw-page-head h2")).to_have_text("Models/cat-resnet:v3")
    # The version page holds its own actions; a protected alias's holder is not unlinked
    # from the page by accident: its Unlink sits at the foot, behind a confirmation.
    expect(widget.get_by_role("button", name="+ alias")).to_be_visible()
    expect(widget.get_by_role("button", name="Edit description and tags")).to_be_visible()
    widget.get_by_role("button", name="Edit description and tags").click()
    form = widget.get_by_role("form", name="Edit the artifact version")
    expect(form.get_by_label("Description")).to_be_focused()
    page.keyboard.type("Best so far")
    form.get_by_role("button", name="Save").click()
    expect(widget.locator(".rw-toast")).to_contain_text("Saved the description and tags")
    expect(widget.locator(".rw-facts")).to_contain_text("Best so far")
    assert page.page_errors == []


def test_descriptions_are_markdown_and_load_nothing_remote(page, lab):
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    _nb, widget = _open(page, lab, "daily-markdown", "")
    card = widget.locator(".rw-card[data-registry='Vision']")
    expect(card.locator(".rw-card-desc strong")).to_have_text("model")
    beacon = card.get_by_role("link", name="image: beacon")
    expect(beacon).to_have_attribute("href", "https://tracker.invalid/p.gif")
    assert widget.locator("img").count() == 0
    assert not [u for u in requested if "tracker.invalid" in u]
    # The whole card opens the registry, not only its title.
    box = card.bounding_box()
    assert box is not None
    card.click(position={"x": box["width"] - 12, "y": box["height"] - 8})  # a corner
    expect(widget.locator(".rw-page-head h2")).to_have_text("Vision")
    expect(widget.locator(".rw-desc strong")).to_have_text("model")
    widget.locator(".rw-crumbs").get_by_role("link", name="Registries").click()
    widget.locator(".rw-card[data-registry='Models']").click(position={"x": 12, "y": 40})
    expect(widget.locator(".rw-page-head h2")).to_have_text("Models")
    # A filter that matches nothing says how many there are.
    widget.get_by_label("Filter collections").fill("nothing-like-this")
    expect(widget.get_by_test_id("collection-count")).to_have_text("0 of 4 collections")
    # After navigating, the header's search box no longer shows an old query.
    search = widget.get_by_role(
        "searchbox", name="Search registries, collections, tags and aliases"
    )
    search.fill("cat")
    page.keyboard.press("Enter")
    expect(widget.locator(".rw-results li").first).to_be_visible()
    expect(search).to_have_value("cat")
    widget.locator(".rw-results").get_by_role("link").first.click()
    expect(search).to_have_value("")
    assert page.page_errors == []


def _check_layout(widget: Locator, where: str) -> None:
    # One scroll: the widget's body is as tall as its content, with no scrollbar inside.
    assert widget.locator(".rw-body").evaluate("b => b.scrollHeight <= b.clientHeight + 1"), where
    assert widget.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), where
    assert widget.evaluate(BROKEN, BROKEN_WORDS) == [], where


def test_at_1024_px_with_the_file_browser_open_one_scroll_and_no_word_broken(
    page, lab, screenshots
):
    page.set_viewport_size({"width": 1024, "height": 800})
    _nb, widget = _open(page, lab, "daily-layout", "")
    if not page.locator(".jp-FileBrowser").is_visible():
        page.locator(".jp-SideBar.jp-mod-left [data-id='filebrowser']").click()
    expect(page.locator(".jp-FileBrowser")).to_be_visible()
    expect(widget.locator(".rw-card[data-registry='Models']")).to_be_visible()
    _check_layout(widget, "registries")
    widget.locator(".rw-card[data-registry='Models'] .rw-card-title").click()
    expect(widget.get_by_role("link", name="cat-resnet")).to_be_visible()
    _check_layout(widget, "registry")
    widget.get_by_role("link", name="cat-resnet").click()
    expect(widget.locator("tr[data-version='v29']")).to_be_visible()
    _check_layout(widget, "collection")
    widget.screenshot(path=str(screenshots / "layout-collection-1024.png"))
    widget.get_by_role("link", name="v29", exact=True).click()
    expect(widget.get_by_role("region", name="Where it is linked")).to_be_visible()
    _check_layout(widget, "version")
    widget.screenshot(path=str(screenshots / "layout-version-1024.png"))
    assert page.page_errors == []


def test_filter_sort_jump_and_pick_find_the_right_version(page, lab):
    _nb, widget = _open(page, lab, "daily-find", "Models/cat-resnet")
    rows = widget.locator("tr[data-version]")
    expect(rows.first).to_have_attribute("data-version", "v29")
    # Filter with the API's language in short: production's version alone.
    widget.get_by_label("Filter versions").fill("alias:production")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-version", "v3")
    expect(widget.get_by_test_id("version-count")).to_have_text("1 of 30 versions")
    widget.get_by_label("Filter versions").fill("validation_accuracy>0.9")
    expect(rows).to_have_count(9)  # 0.8 + i/200 > 0.9 for i = 21…29
    widget.get_by_label("Filter versions").fill("")
    expect(rows).to_have_count(25)
    # Sort by a metric on the kernel, highest first; a second click flips the order.
    widget.get_by_role("button", name="training_loss").click()
    expect(rows.first).to_have_attribute("data-version", "v0")  # loss 0.5 - i/100
    widget.get_by_role("button", name="training_loss ▾").click()
    expect(rows.first).to_have_attribute("data-version", "v29")
    # Jump to the last page (still sorted, lowest loss first: v4 … v0 there).
    widget.get_by_label("Page number").fill("2")
    page.keyboard.press("Enter")
    expect(rows).to_have_count(5)
    expect(rows.first).to_have_attribute("data-version", "v4")

    # The link dialog finds v2 by number, shows its metrics, marks what is linked.
    widget.get_by_role("button", name="Link a version").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Search logged artifacts by name")).to_be_focused()
    page.keyboard.type("v1")
    pick = dialog.locator("[data-ref='cat-resnet:v1']")
    expect(pick).to_contain_text("linked as v1")
    expect(pick).to_contain_text("validation_accuracy")
    dialog.get_by_label("Search logged artifacts by name").fill("zebra")
    expect(dialog).to_contain_text("No “model” artifact version matches “zebra”")
    expect(dialog).not_to_contain_text("log_artifact")
    page.keyboard.press("Escape")

    # Search: a path opens its page; artifact versions are found by name.
    search = widget.get_by_role(
        "searchbox", name="Search registries, collections, tags and aliases"
    )
    search.fill("Models/cat-resnet:production")
    page.keyboard.press("Enter")
    expect(widget.locator(".rw-page-head h2")).to_have_text("Models/cat-resnet:v3")
    search.fill("cat-resnet:v7")
    page.keyboard.press("Enter")
    hit = widget.locator(".rw-artifact-results [data-ref='cat-resnet:v7']")
    expect(hit).to_contain_text("linked as")
    hit.get_by_role("link", name="Models/cat-resnet:v7").click()
    expect(widget.locator(".rw-page-head h2")).to_have_text("Models/cat-resnet:v7")
    assert page.page_errors == []


def test_artifacts_page_shows_unlinked_versions_and_links_them(page, lab):
    _nb, widget = _open(page, lab, "daily-artifacts", "")
    widget.get_by_role("link", name="Artifacts").click()
    widget.get_by_label("Filter artifact versions by name").fill("cats-raw")
    row = widget.locator("tr[data-ref='cats-raw:v0']")
    expect(row).to_contain_text("not linked")
    expect(row).to_contain_text("rows")
    row.get_by_role("button", name="Link cats-raw:v0").click()
    dialog = page.get_by_role("dialog")
    expect(
        dialog.get_by_label("Collection (Registry/Collection; created if missing)")
    ).to_be_focused()
    page.keyboard.type("Datasets/cats")
    page.keyboard.press("Enter")
    expect(widget.locator(".rw-page-head h2")).to_have_text("Datasets/cats:v0")
    expect(widget.locator(".rw-toast")).to_contain_text("Linked cats-raw:v0")
    assert page.page_errors == []


# The contrast of every chip's text with the chip (WCAG 2: 4.5:1 for small text).
CHIP_CONTRASTS = """
el => {
  // rgb()/rgba() give 0-255, color(srgb …) (from color-mix) 0-1; alpha last, if any.
  const rgb = (c) => {
    const n = (c.match(/[\\d.]+/g) || []).map(Number);
    const scale = c.startsWith("color(") ? 255 : 1;
    return [n[0] * scale, n[1] * scale, n[2] * scale, n.length > 3 ? n[3] : 1];
  };
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (node) => {
    for (let n = node; n; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor);
      if (c[3] > 0) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  return [...el.querySelectorAll(".rw-chip")].filter((c) => c.textContent.trim()).map((c) => {
    const [r, g, bl, alpha] = rgb(getComputedStyle(c).color);
    const under = background(c);
    const seen = [r, g, bl].map((v, i) => alpha * v + (1 - alpha) * under[i]);
    const a = lum(seen);
    const b = lum(under);
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const colors = `${getComputedStyle(c).color} on ${under.join(",")}`;
    return [c.className, c.textContent.trim(), Math.round(ratio * 100) / 100, colors];
  });
}
"""


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_chips_are_legible_in_both_themes(page, lab, theme):
    lab.set_theme("JupyterLab Dark" if theme == "dark" else "JupyterLab Light")
    try:
        more = '\nclient.create_registry("Secret", visibility="restricted")'
        _nb, widget = _open(page, lab, f"chips-{theme}", "", more)
        expect(widget.locator(".rw-vis-restricted").first).to_be_visible()
        seen = widget.evaluate(CHIP_CONTRASTS)
        widget.get_by_role("link", name="Models", exact=True).first.click()
        widget.get_by_role("link", name="cat-resnet", exact=True).first.click()
        expect(widget.locator(".rw-alias").first).to_be_visible()
        seen += widget.evaluate(CHIP_CONTRASTS)
        classes = {c for name, _text, _ratio, _colors in seen for c in name.split()}
        assert {"rw-vis-restricted", "rw-vis-organization", "rw-alias"} <= classes, seen
        low = [chip for chip in seen if chip[2] < 4.5]
        assert low == [], low
        assert page.page_errors == []
    finally:
        lab.set_theme("JupyterLab Light")


def test_a_restricted_viewer_is_shown_how_to_use_a_version_without_downloading(page, lab):
    more = """
        client.add_user("rita")
        secret = client.create_registry("Secret", visibility="restricted")
        secret.add_member("rita", "restricted_viewer")
        client.link("cat-resnet:v3", "Secret/cats")
        rita = rw.Client({store!r}, user="rita")
        """
    _nb, widget = _open(page, lab, "rv", "Secret/cats:latest", more, user="rita")
    snippet = widget.locator(".rw-snippet code")
    expect(snippet).to_contain_text('client.use("Secret/cats:v0")')
    expect(snippet).not_to_contain_text("download")
    note = widget.locator(".rw-files .rw-note")
    expect(note).to_have_text(
        "Previewing and downloading the files needs the viewer role on Secret, "
        "and yours is restricted viewer."
    )
    expect(widget.get_by_role("button", name="Download all", exact=False)).to_have_count(0)
    assert page.page_errors == []


WIDE = """
    wide = models.create_collection("wide-metrics", type="model")
    for i in range(3):
        (files / f"x{{i}}.bin").write_bytes(bytes([100 + i]) * 20)
        art = client.log_artifact(
            "wide-metrics", type="model", files=files / f"x{{i}}.bin",
            metadata={{f"metric_number_{{k}}": round(i / 10 + k, 2) for k in range(8)}})
        client.link(art, "Models/wide-metrics")
    """

# Every header of the versions table: where it is, and where the table's visible window is
# (the scroll container's box, less the pinned first column).
HEADERS = """
el => {
  const wrap = el.querySelector(".rw-versions").closest(".rw-table-wrap");
  const box = wrap.getBoundingClientRect();
  const pinned = el.querySelector(".rw-versions thead th").getBoundingClientRect();
  const style = getComputedStyle(wrap);
  return {
    scrolls: ["auto", "scroll"].includes(style.overflowX),
    wide: wrap.scrollWidth > wrap.clientWidth + 1,
    headers: [...el.querySelectorAll(".rw-versions thead th")].map((th, i) => {
      const r = th.getBoundingClientRect();
      const left = i === 0 ? box.left : pinned.right;
      return {
        name: th.textContent.trim(),
        visible: r.left >= left - 1 && r.right <= box.left + wrap.clientWidth + 1,
      };
    }),
  };
}
"""


def _headers(widget: Locator) -> dict[str, object]:
    seen: dict[str, object] = widget.evaluate(HEADERS)
    return seen


def test_at_1024_px_every_column_of_a_wide_table_is_in_reach(page, lab, screenshots):
    page.set_viewport_size({"width": 1024, "height": 800})
    _nb, widget = _open(page, lab, "daily-wide", "Models/wide-metrics", WIDE)
    if not page.locator(".jp-FileBrowser").is_visible():
        page.locator(".jp-SideBar.jp-mod-left [data-id='filebrowser']").click()
    expect(widget.locator("tr[data-version='v2']")).to_be_visible()
    _check_layout(widget, "wide collection")
    seen = _headers(widget)
    names = [h["name"] for h in seen["headers"]]  # type: ignore[index]
    assert names[:4] == ["Version", "Aliases", "Tags", "Linked"], names
    assert len(names) >= 9, names
    assert all(n.startswith("metric_number_") for n in names[4:]), names
    # The table is wider than the widget: it scrolls sideways inside its own box...
    assert seen["scrolls"], seen
    assert seen["wide"], seen
    hidden = [h["name"] for h in seen["headers"] if not h["visible"]]  # type: ignore[index]
    assert hidden, seen
    # ... and says so above it, naming the columns out of sight; each one is a click away.
    cue = widget.get_by_role("group", name="Columns out of view")
    expect(cue).to_be_visible()
    for name in hidden:
        expect(cue.get_by_role("button", name=name, exact=True)).to_be_visible()
    widget.screenshot(path=str(screenshots / "layout-wide-collection-1024.png"))
    last = hidden[-1]
    cue.get_by_role("button", name=last, exact=True).click()
    page.wait_for_function(
        "([el, name]) => el.querySelector(`.rw-versions th[data-column='${name}']`)"
        " && (() => { const w = el.querySelector('.rw-versions').closest('.rw-table-wrap');"
        " const r = el.querySelector(`.rw-versions th[data-column='${name}']`)"
        ".getBoundingClientRect(); const b = w.getBoundingClientRect();"
        " return r.right <= b.left + w.clientWidth + 1; })()",
        arg=[widget.element_handle(), last],
    )
    seen = _headers(widget)
    after = {h["name"]: h["visible"] for h in seen["headers"]}  # type: ignore[index]
    # Once there, the version column stays in view beside it: a row keeps its name.
    assert after[last], after
    assert after["Version"], after
    expect(widget.locator("tr[data-version='v2'] td").first).to_be_visible()
    # What scrolled out on the left is offered too, to come back to.
    expect(cue.get_by_role("button", name="Aliases", exact=True)).to_be_visible()
    widget.screenshot(path=str(screenshots / "layout-wide-collection-1024-scrolled.png"))
    assert page.page_errors == []


LONG_NAMES = """
    team = client.create_registry("vision-research-team")
    (files / "seg.bin").write_bytes(b"seg")
    seg = client.log_artifact("semantic-segmentation-model", type="model", files=files / "seg.bin")
    link = client.link(seg, "vision-research-team/semantic-segmentation-baseline",
                       aliases=["release-candidate"])
    link.set_alias("staging-candidate")
    """

# Names broken across lines inside the history table, at any length (a path may break
# after a "/", between its registry and its collection).
BROKEN_NAMES = {"cells": ".rw-history-table td", "split": "[^\\s,;/]+", "hyphenated": True}

# Cells cut short with an ellipsis, and whether each says in full what it holds.
CLIPPED = """
el => [...el.querySelectorAll(".rw-history-table .rw-name")]
  .filter((n) => n.scrollWidth > n.clientWidth + 1)
  .map((n) => [n.textContent.trim(), n.getAttribute("title") || n.closest("[title]")?.getAttribute("title") || ""])
"""


def test_at_1024_px_history_never_breaks_a_name_at_its_hyphen(page, lab, screenshots):
    page.set_viewport_size({"width": 1024, "height": 800})
    route = "?history=vision-research-team"
    _nb, widget = _open(page, lab, "daily-history", route, LONG_NAMES)
    if not page.locator(".jp-FileBrowser").is_visible():
        page.locator(".jp-SideBar.jp-mod-left [data-id='filebrowser']").click()
    expect(page.locator(".jp-FileBrowser")).to_be_visible()
    rows = widget.locator(".rw-history-table tbody tr")
    expect(rows.first).to_be_visible()
    expect(widget.locator(".rw-history-table")).to_contain_text(
        "vision-research-team/semantic-segmentation-baseline"
    )
    widget.screenshot(path=str(screenshots / "layout-history-1024.png"))
    assert widget.evaluate(BROKEN, BROKEN_NAMES) == []
    for text, title in widget.evaluate(CLIPPED):
        assert text.rstrip("…") in title, (text, title)
    _check_layout(widget, "history")
    assert page.page_errors == []


def test_the_version_page_lists_where_it_is_linked_once(page, lab, screenshots):
    more = 'client.link("cat-resnet:v3", "Vision/cats", aliases=["reviewed"])'
    _nb, widget = _open(page, lab, "daily-links", "Models/cat-resnet:v3", more)
    expect(widget.locator(".rw-page-head h2")).to_have_text("Models/cat-resnet:v3")
    headings = widget.locator("h3.rw-section")
    expect(headings.first).to_be_visible()
    titles = [t.strip() for t in headings.all_text_contents()]
    linked = [t for t in titles if "linked" in t.lower()]
    assert linked == ["Where it is linked"], titles
    section = widget.get_by_role("region", name="Where it is linked")
    expect(section.get_by_role("link", name="Vision/cats:v0")).to_be_visible()
    expect(section.get_by_role("link", name="Models/cat-resnet:v3")).to_have_count(0)
    expect(section).to_contain_text("this page")
    expect(section).to_contain_text("reviewed")
    # Each place once on the page outside the lineage drawing.
    others = widget.locator(".rw-page a:not(.rw-graph-node)", has_text="Vision/cats:v0")
    expect(others).to_have_count(1)
    assert page.page_errors == []
