"""The widget in real JupyterLab in real Chromium: display, forms, dialogs, live updates, XSS."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

from playwright.sync_api import expect

from tests.browser.lab import REPO, Notebook

SETUP = textwrap.dedent(
    """
    import pathlib, registry_widget as rw
    client = rw.Client({store!r}, user="ada")
    def make_file(name, content):
        path = pathlib.Path("files") / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(content)
        return path
    """
)


def _setup(store: str, extra: str = "") -> str:
    return SETUP.format(store=store) + textwrap.dedent(extra)


def test_display_and_create_a_registry_through_the_form(page, lab, screenshots):
    nb = Notebook(
        page,
        lab,
        "create.ipynb",
        [_setup("create.json"), "w = rw.RegistryWidget(client)\nw"],
    ).open()
    nb.run(0)
    nb.cell(1).locator(".jp-InputArea-editor").click()
    frames_before = len(page.ws_received)
    started = time.monotonic()
    page.keyboard.press("Control+Enter")
    widget = nb.cell(1).locator(".rw-app")
    expect(widget.locator(".rw-card[data-registry='Models']")).to_be_visible(timeout=30_000)
    elapsed = time.monotonic() - started
    received = sum(page.ws_received[frames_before:])
    print(f"\nrun cell -> visible widget: {elapsed:.2f} s; websocket bytes: {received}")
    (REPO / "test-artifacts").mkdir(exist_ok=True)
    (REPO / "test-artifacts" / "run-cell-to-visible.txt").write_text(
        f"run cell -> visible widget: {elapsed:.3f} s\n"
        f"kernel websocket bytes received meanwhile (bundle included): {received}\n"
    )
    expect(widget.get_by_text("Core registries")).to_be_visible()
    expect(widget.locator(".rw-card[data-registry='Datasets']")).to_be_visible()

    widget.get_by_role("button", name="Create registry").click()
    form = widget.get_by_role("form", name="Create registry")
    form.get_by_label("Name").fill("team/vision")
    expect(form.locator(".rw-invalid")).to_contain_text("/")
    expect(form.get_by_role("button", name="Create registry")).to_be_disabled()
    form.get_by_label("Name").fill("Team Vision")
    expect(form.locator(".rw-invalid")).to_have_count(0)
    form.get_by_label("Description").fill("Models of the vision team")
    form.get_by_label("Only these:").check()
    form.get_by_label("Types (comma-separated)").fill("model, onnx")
    form.get_by_role("button", name="Create registry").click()
    expect(widget.locator(".rw-page-head h2")).to_have_text("Team Vision")
    expect(widget.locator(".rw-crumbs")).to_contain_text("Team Vision")

    cell = nb.add_cell("print(sorted(r.name for r in client.registries()))")
    nb.run(cell)
    assert "Team Vision" in nb.output(cell)

    # Back to the list: the new registry is in the custom section; a duplicate is refused.
    widget.get_by_role("button", name="Back").click()
    expect(widget.locator(".rw-card[data-registry='Team Vision']")).to_contain_text("onnx")
    widget.get_by_role("button", name="Create registry").click()
    form.get_by_label("Name").fill("team vision")
    # The duplicate is named at the field as it is typed, before any submit.
    expect(form.locator(".rw-invalid")).to_contain_text("already exists")
    expect(form.get_by_role("button", name="Create registry")).to_be_disabled()
    assert page.page_errors == []


LINK_SETUP = """
cat = client.log_artifact("cat-resnet", type="model", files=make_file("w.bin", b"w" * 2048),
                          metadata={"accuracy": 0.913, "epochs": 12, "config": {"lr": 0.001}})
data = client.log_artifact("imagenet", type="dataset", files=make_file("d.csv", b"a,b\\n"))
client.registry("Models").create_collection(
    "cat-resnet", type="model", description="**ResNet-50** cat detector", tags=["vision"])
"""


def test_link_through_the_dialog_and_a_refusal(page, lab):
    nb = Notebook(
        page,
        lab,
        "link.ipynb",
        [_setup("link.json", LINK_SETUP), 'rw.RegistryWidget(client, route="Models/cat-resnet")'],
    ).open()
    nb.run(0)
    nb.run(1)
    widget = nb.cell(1).locator(".rw-app")
    expect(widget.locator(".rw-markdown strong")).to_have_text("ResNet-50")
    expect(widget.get_by_text("No versions linked yet.")).to_be_visible()

    widget.get_by_role("button", name="Link a version").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Search logged artifacts by name").fill("RESNET")
    dialog.get_by_text("cat-resnet:v0").click()
    expect(dialog.get_by_text("imagenet:v0")).to_have_count(0)
    dialog.get_by_label("Aliases (optional, comma-separated)").fill("staging")
    dialog.get_by_role("button", name="Link", exact=True).click()
    expect(dialog).to_have_count(0)
    row = widget.locator("tr[data-version='v0']")
    expect(row).to_contain_text("staging")
    expect(row).to_contain_text("0.913")

    cell = nb.add_cell('print(client.use("Models/cat-resnet:staging").artifact.ref)')
    nb.run(cell)
    assert "cat-resnet:v0" in nb.output(cell)

    # A dataset into Models: the library refuses, the dialog says why, nothing changes.
    widget.get_by_role("button", name="Link a version").click()
    dialog.get_by_label("other types too").check()
    dialog.get_by_text("imagenet:v0").click()
    dialog.get_by_role("button", name="Link", exact=True).click()
    alert = dialog.get_by_role("alert")
    expect(alert).to_contain_text("Not accepted")
    expect(alert).to_contain_text("dataset")
    # ...in words for a person, pointing to the control that fixes it, not to Python.
    expect(alert).to_contain_text("in the registry's Settings, under Accepted types")
    expect(alert).not_to_contain_text("add_artifact_type")
    dialog.get_by_role("button", name="Cancel").click()
    check = nb.add_cell('print("count", client.registry("Models").collection("cat-resnet").count)')
    nb.run(check)
    assert "count 1" in nb.output(check)
    expect(widget.locator("tbody tr")).to_have_count(1)
    assert page.page_errors == []


def test_changes_from_cells_and_other_processes_appear_live(page, lab):
    nb = Notebook(
        page,
        lab,
        "live.ipynb",
        [
            _setup("live.json", LINK_SETUP),
            'w = rw.RegistryWidget(client, route="Models/cat-resnet")\nw',
        ],
    ).open()
    nb.run(0)
    nb.run(1)
    widget = nb.cell(1).locator(".rw-app")
    expect(widget.get_by_text("No versions linked yet.")).to_be_visible()

    cell = nb.add_cell('client.link(cat, "Models/cat-resnet", aliases=["production"]);')
    nb.run(cell)
    expect(widget.locator("tr[data-version='v0']")).to_contain_text("production", timeout=5_000)

    script = textwrap.dedent(
        """
        import pathlib, registry_widget as rw
        c = rw.Client("live.json", user="ada")
        f = pathlib.Path("files/other.bin"); f.write_bytes(b"other")
        c.link(c.log_artifact("cat-resnet", type="model", files=f), "Models/cat-resnet")
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", script], cwd=lab.root, env=env, check=True, timeout=60)
    done = time.monotonic()
    expect(widget.locator("tr[data-version='v1']")).to_be_visible(timeout=5_000)
    delay = time.monotonic() - done
    print(f"\nother process -> visible: {delay:.2f} s")
    assert delay < 2.0

    # The route is a trait: a cell navigates the open widget; Back returns.
    cell = nb.add_cell('w.open("Datasets")')
    nb.run(cell)
    expect(widget.locator(".rw-crumb-current")).to_have_text("Datasets")
    widget.get_by_role("button", name="Back").click()
    expect(widget.locator(".rw-crumb-current")).to_have_text("cat-resnet")
    check = nb.add_cell("print(repr(w.route))")
    nb.run(check)
    assert "'Models/cat-resnet'" in nb.output(check)
    assert page.page_errors == []


XSS = "<img src=x onerror=alert(1)>"


def test_user_text_is_shown_literally_and_runs_nothing(page, lab):
    extra = f"""
    reg = client.create_registry({XSS!r}, description={XSS!r})
    art = client.log_artifact("evil", type="model",
        files={{{XSS!r} + ".txt": make_file("e.txt", b"e")}},
        metadata={{{XSS!r}: {XSS!r}}}, description={XSS!r})
    reg.create_collection("c", type="model", tags=["x"],
        description="<script>alert(2)</script>" + {XSS!r} + "[x](javascript:alert(3))")
    client.link(art, {XSS!r} + "/c", aliases=["prod"])
    """
    nb = Notebook(
        page, lab, "xss.ipynb", [_setup("xss.json", extra), "w = rw.RegistryWidget(client)\nw"]
    ).open()
    nb.run(0)
    nb.run(1)
    widget = nb.cell(1).locator(".rw-app")
    card = widget.locator(".rw-card").filter(has_text=XSS)
    expect(card.locator(".rw-card-title")).to_have_text(XSS)
    # A description is Markdown: its image is neither loaded nor run, shown as a mention.
    expect(card.locator(".rw-card-desc")).to_have_text("[image: x]")
    card.locator(".rw-card-title").click()
    expect(widget.locator(".rw-page-head h2")).to_have_text(XSS)
    widget.get_by_role("link", name="c", exact=True).click()
    expect(widget.locator(".rw-markdown")).to_be_visible()
    widget.get_by_role("link", name="v0", exact=True).click()
    expect(widget.get_by_text(f"{XSS}.txt")).to_be_visible()
    expect(widget.locator(".rw-tree-key", has_text=XSS)).to_be_visible()
    page.wait_for_timeout(500)
    assert widget.locator("img").count() == 0  # Markdown images become links or text
    assert widget.locator("script").count() == 0
    assert page.page_errors == []
