"""The keyboard in real JupyterLab: Enter submits, Escape cancels, Tab stays in a dialog."""

from __future__ import annotations

import textwrap

from playwright.sync_api import Locator, Page, expect

from tests.browser.lab import Notebook

STORE = textwrap.dedent(
    """
    import pathlib, registry_widget as rw
    client = rw.Client({store!r}, user="ada")
    files = pathlib.Path("files-{store}"); files.mkdir(exist_ok=True)
    for i in range(3):
        (files / f"w{{i}}.bin").write_bytes(bytes([i]) * 100)
        art = client.log_artifact("cat-resnet", type="model", files=files / f"w{{i}}.bin",
                                  metadata={{"acc": 0.8 + i / 100}})
        if i < 2:
            client.link(art, "Models/cat-resnet")
    """
)


def _open(page: Page, lab, name: str, route: str = "") -> tuple[Notebook, Locator]:
    nb = Notebook(
        page,
        lab,
        f"{name}.ipynb",
        [STORE.format(store=f"{name}.json"), f"w = rw.RegistryWidget(client, route={route!r})\nw"],
    ).open()
    nb.run(0)
    nb.run(1)
    return nb, nb.cell(1).locator(".rw-app")


def _focused(page: Page) -> str:
    return str(
        page.evaluate(
            "() => { const a = document.activeElement;"
            " return a ? (a.getAttribute('aria-label') || a.id || a.textContent.trim()) : ''; }"
        )
    )


def test_enter_submits_forms_and_escape_cancels_them(page, lab):
    nb, widget = _open(page, lab, "keys-forms")
    cells = nb.cells.count()
    widget.get_by_role("button", name="Create registry").click()
    form = widget.get_by_role("form", name="Create registry")
    # The form's first field has focus: typing goes there, Enter submits.
    expect(form.get_by_label("Name")).to_be_focused()
    page.keyboard.type("Team Vision")
    expect(form.get_by_role("button", name="Create registry")).to_be_enabled()
    page.keyboard.press("Enter")
    expect(widget.locator(".rw-page-head h2")).to_have_text("Team Vision")
    # The notebook saw none of it: no cell added, the widget's cell not in edit mode.
    expect(nb.cells).to_have_count(cells)

    widget.get_by_role("button", name="Create collection").click()
    form = widget.get_by_role("form", name="Create collection")
    expect(form.get_by_label("Name")).to_be_focused()
    page.keyboard.type("scratch")
    page.keyboard.press("Escape")
    expect(form).to_have_count(0)

    widget.locator(".rw-crumbs").get_by_role("link", name="Registries").click()
    widget.locator(".rw-card[data-registry='Models'] .rw-card-title").click()
    widget.get_by_role("link", name="cat-resnet").click()
    v0 = widget.locator("tr[data-version='v0']")
    v1 = widget.locator("tr[data-version='v1']")
    # "+ alias" focuses its field every time it opens, not only the first time.
    for alias in ("staging", "candidate"):
        v0.get_by_role("button", name="+ alias").click()
        expect(v0.get_by_label("New alias")).to_be_focused()
        page.keyboard.type(alias)
        page.keyboard.press("Enter")
        expect(v0.locator(".rw-alias", has_text=alias)).to_be_visible()
        expect(widget.locator(".rw-toast").last).to_contain_text(f"“{alias}” is now on v0")
    # One inline form at a time: opening a second one closes the first.
    v0.get_by_role("button", name="+ alias").click()
    v1.get_by_role("button", name="+ alias").click()
    expect(widget.get_by_label("New alias")).to_have_count(1)
    expect(v1.get_by_label("New alias")).to_be_focused()
    page.keyboard.press("Escape")
    expect(widget.get_by_label("New alias")).to_have_count(0)
    expect(nb.cells).to_have_count(cells)
    assert page.page_errors == []


def test_link_dialog_focuses_traps_tab_closes_on_escape_and_returns_focus(page, lab):
    _nb, widget = _open(page, lab, "keys-dialog", "Models/cat-resnet")
    opener = widget.get_by_role("button", name="Link a version")
    opener.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Search logged artifacts by name")).to_be_focused()
    expect(dialog.get_by_text("cat-resnet:v2")).to_be_visible()
    # Tab and Shift+Tab cycle through the dialog's controls and never leave it.
    for key in ["Tab"] * 12 + ["Shift+Tab"] * 12:
        page.keyboard.press(key)
        inside = dialog.evaluate("d => d.contains(document.activeElement)")
        assert inside, (key, _focused(page))
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(opener).to_be_focused()

    # The whole link by keyboard: search, pick, aliases, Enter.
    opener.click()
    expect(dialog.get_by_label("Search logged artifacts by name")).to_be_focused()
    page.keyboard.type("cat-resnet")
    dialog.get_by_role("radio", name="cat-resnet:v2").check()
    dialog.get_by_label("Aliases (optional, comma-separated)").focus()
    page.keyboard.type("staging")
    page.keyboard.press("Enter")
    expect(dialog).to_have_count(0)
    expect(widget.locator("tr[data-version='v2']")).to_contain_text("staging")
    expect(widget.locator(".rw-toast")).to_contain_text("Linked cat-resnet:v2 as v2")
    assert page.page_errors == []


def test_after_a_kernel_restart_the_widget_says_what_happened_and_what_to_do(page, lab):
    _nb, widget = _open(page, lab, "keys-restart")
    expect(widget.locator(".rw-card[data-registry='Models']")).to_be_visible()
    # Restart the kernel the way a user does: Kernel menu, Restart Kernel…, confirm.
    page.get_by_role("menuitem", name="Kernel").click()
    page.get_by_role("menuitem", name="Restart Kernel…").click()
    page.locator(".jp-Dialog .jp-mod-accept").click()
    expect(page.get_by_text("Python 3 (ipykernel) | Idle").first).to_be_visible(timeout=60_000)
    # At once, without waiting for a request to time out: what happened and what to do.
    banner = widget.locator(".rw-gone")
    expect(banner).to_contain_text("lost its kernel", timeout=30_000)
    expect(banner).to_contain_text("Re-run the cell that displays it")
    widget.locator(".rw-card[data-registry='Models'] .rw-card-title").click()
    alert = widget.locator(".rw-body [role=alert]")
    expect(alert).to_contain_text("Re-run the cell that displays it", timeout=5_000)
    expect(alert).not_to_contain_text("Cannot send")


def test_the_focus_follows_the_keyboard_through_pages_and_inline_forms(page, lab):
    _nb, widget = _open(page, lab, "keys-focus", "Models")
    expect(widget.locator(".rw-page-head h2")).to_have_text("Models")
    link = widget.get_by_role("link", name="cat-resnet")
    link.focus()
    page.keyboard.press("Enter")
    # The page opened takes the focus on its heading, so Tab goes on from there.
    heading = widget.locator(".rw-page-head h2")
    expect(heading).to_have_text("cat-resnet")
    expect(heading).to_be_focused()
    v0 = widget.locator("tr[data-version='v0']")
    opener = v0.get_by_role("button", name="+ alias")
    # A form closed by Escape, and one saved by Enter, give the focus back to its opener.
    opener.focus()
    page.keyboard.press("Enter")
    expect(v0.get_by_label("New alias")).to_be_focused()
    page.keyboard.press("Escape")
    expect(v0.get_by_role("button", name="+ alias")).to_be_focused()
    page.keyboard.press("Enter")
    expect(v0.get_by_label("New alias")).to_be_focused()
    page.keyboard.type("staging")
    page.keyboard.press("Enter")
    expect(v0.locator(".rw-alias", has_text="staging")).to_be_visible()
    expect(v0.get_by_role("button", name="+ alias")).to_be_focused()
    # Removing an alias with its ×: the focus stays among the row's aliases.
    v0.get_by_role("button", name="Remove alias staging").focus()
    page.keyboard.press("Enter")
    expect(v0.locator(".rw-alias", has_text="staging")).to_have_count(0)
    expect(v0.get_by_role("button", name="+ alias")).to_be_focused()
    assert page.page_errors == []
