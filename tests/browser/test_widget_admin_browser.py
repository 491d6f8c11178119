"""Administration, history and comparison in real JupyterLab, per role, plus screenshots.

The same notebook runs as an admin, a member, a viewer and a restricted viewer of the
restricted registry "Vision team": each sees only the controls their role allows, and a
request forged from the page (the frontend's own ``invoke``) is refused by the kernel.
"""

from __future__ import annotations

import textwrap
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.lab import Notebook

SETUP = textwrap.dedent(
    """
    import pathlib, registry_widget as rw
    USER = {user!r}
    STORE = {store!r}
    admin = rw.Client(STORE, user="ada")
    for name, role in [("bob", "member"), ("carol", "viewer"), ("dave", "viewer")]:
        admin.add_user(name, role=role)
    team = admin.create_registry("Vision team", description="Models of the vision team",
                                 visibility="restricted", artifact_types=["model", "eval"])
    for name, role in [("bob", "member"), ("carol", "viewer"), ("dave", "restricted_viewer")]:
        team.add_member(name, role)
    team.add_protected_alias("production")
    admin.create_registry("Scratch", description="Experiments")
    files = pathlib.Path("files"); files.mkdir(exist_ok=True)
    for i in range(6):
        (files / f"w{{i}}.bin").write_bytes(bytes([i]) * (1000 + i))
        art = admin.log_artifact(
            "cat-resnet", type="model", files={{"model.bin": files / f"w{{i}}.bin"}},
            metadata={{"accuracy": [0.81, 0.86, 0.84, 0.9, 0.93, 0.92][i],
                      "loss": [0.52, 0.41, 0.44, 0.3, 0.22, 0.25][i], "epochs": 10 + 2 * i,
                      "optimizer": {{"name": "adamw" if i > 2 else "sgd", "lr": 0.001}}}})
        aliases = {{3: ["production"], 5: ["staging"]}}.get(i, [])
        admin.link(art, "Vision team/cats", aliases=aliases)
        if i == 4:
            admin.link(art, "Models/cat-detectors", aliases=["candidate"])
    client = rw.Client(STORE, user=USER)
    """
)
WIDGET = 'w = rw.RegistryWidget(client, route="Vision team/cats")\nw'


def _open(page: Page, lab: Any, user: str, name: str) -> tuple[Notebook, Locator]:
    store = f"{name}.json"
    nb = Notebook(page, lab, f"{name}.ipynb", [SETUP.format(user=user, store=store), WIDGET])
    nb.open()
    nb.run(0)
    nb.run(1)
    widget = nb.cell(1).locator(".rw-app")
    expect(widget.locator("tr[data-version='v3']")).to_contain_text("production", timeout=30_000)
    return nb, widget


def _forge(widget: Locator, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """Send a request from the page with the frontend's own request helper."""
    result: dict[str, Any] = widget.evaluate(
        """(el, [method, params]) => el.closest(".rw-root").rwInvoke(method, params).then(
            (r) => ({ok: true, result: r}),
            (e) => ({ok: false, type: e.type, message: e.message, detail: e.detail}))""",
        [method, params],
    )
    return result


def _full_height(widget: Locator) -> None:
    """Let the widget grow to its content, so a screenshot shows the whole page."""
    widget.page.set_viewport_size({"width": 1400, "height": 2000})
    widget.evaluate("el => { el.querySelector('.rw-body').style.maxHeight = 'none'; }")
    widget.scroll_into_view_if_needed()


def _check_store(nb: Notebook) -> str:
    cell = nb.add_cell(
        "t = rw.Client(STORE, user='ada').registry('Vision team')\n"
        "print('STATE', t.artifact_types, t.protected_aliases, t.description,"
        " [(m.user, m.role) for m in t.members()])"
    )
    nb.run(cell)
    return nb.output(cell)


UNCHANGED = (
    "STATE ['model', 'eval'] ['production'] Models of the vision team "
    "[('ada', 'admin'), ('bob', 'member'), ('carol', 'viewer'), ('dave', 'restricted_viewer')]"
)


@pytest.mark.parametrize(
    ("user", "role"),
    [("bob", "member"), ("carol", "viewer"), ("dave", "restricted viewer")],
)
def test_non_admins_see_only_their_controls_and_forged_requests_fail(
    page, lab, screenshots, user, role
):
    nb, widget = _open(page, lab, user, f"role-{user}")
    member = role == "member"
    # Collection page: linking and (non-protected) aliases need the member role.
    expect(widget.get_by_role("button", name="Link a version")).to_have_count(1 if member else 0)
    expect(widget.get_by_role("button", name="+ alias")).to_have_count(6 if member else 0)
    expect(widget.get_by_role("button", name="Remove alias production")).to_have_count(0)
    expect(widget.get_by_role("button", name="Remove alias staging")).to_have_count(
        1 if member else 0
    )
    expect(widget.locator(".rw-protected", has_text="production").first).to_be_visible()
    if member:
        # A member may not move a protected alias: the refusal is shown in words, in place.
        row = widget.locator("tr[data-version='v0']")
        row.get_by_role("button", name="+ alias").click()
        row.get_by_label("New alias").fill("production")
        row.get_by_role("button", name="Set").click()
        expect(row.get_by_role("alert")).to_contain_text("Not allowed")
        expect(row.get_by_role("alert")).to_contain_text("You may not")
        expect(row.get_by_role("alert")).to_contain_text("An admin of Vision team can give it")
        expect(row.get_by_role("alert")).not_to_contain_text("set_role")
        # ...nor unlink the version that holds one, nor delete the collection holding it: the
        # page offers neither. Other versions unlink from their page after a confirmation.
        expect(widget.get_by_role("button", name="Delete collection…")).to_have_count(0)
        widget.locator("tr[data-version='v3']").get_by_role("link", name="v3").click()
        expect(widget.locator(".rw-page-head h2")).to_contain_text(":v3")
        expect(widget.get_by_role("button", name="+ alias")).to_have_count(1)
        expect(widget.get_by_role("button", name="Unlink v3…")).to_have_count(0)
        widget.get_by_role("button", name="Back").click()
        widget.locator("tr[data-version='v1']").get_by_role("link", name="v1").click()
        widget.get_by_role("button", name="Unlink v1…").click()
        widget.get_by_role("button", name="Unlink", exact=True).click()
        expect(widget.locator(".rw-toast")).to_contain_text("Unlinked")
        expect(widget.locator(".rw-page-head h2")).to_have_text("cats")
        expect(widget.locator("tr[data-version='v1']")).to_have_count(0)
        widget.get_by_role("button", name="Edit description and tags").click()
        form = widget.get_by_role("form", name="Edit collection")
        form.get_by_label("Tags (comma-separated)").fill("vision, cats")
        form.get_by_role("button", name="Save").click()
        expect(form).to_have_count(0)
        expect(widget.locator(".rw-meta-line").first).to_contain_text("vision")
    else:
        for control in ("Edit description and tags", "Delete collection…"):
            expect(widget.get_by_role("button", name=control)).to_have_count(0)
        if role == "viewer":  # a restricted viewer may not open a version (use needs viewer)
            widget.locator("tr[data-version='v1']").get_by_role("link", name="v1").click()
            expect(widget.locator(".rw-page-head h2")).to_contain_text(":v1")
            for control in ("Unlink v1…", "+ alias", "Edit description and tags"):
                expect(widget.get_by_role("button", name=control)).to_have_count(0)
            widget.get_by_role("button", name="Back").click()

    # Registry page and settings: read-only, with the user's own effective role.
    widget.locator(".rw-crumbs").get_by_role("link", name="Vision team").click()
    expect(widget.get_by_role("button", name="Create collection")).to_have_count(1 if member else 0)
    widget.get_by_role("link", name="Members and settings").click()
    expect(widget.get_by_test_id("own-role")).to_contain_text(f"You ({user})")
    expect(widget.get_by_test_id("own-role")).to_contain_text(role)
    expect(widget.get_by_role("note")).to_contain_text(f"yours is {role}")
    for control in ("Save", "Add type", "Add member", "Protect", "Delete registry…", "Remove"):
        expect(widget.get_by_role("button", name=control, exact=True)).to_have_count(0)
    expect(widget.locator("select")).to_have_count(0)
    expect(widget.locator("[data-member='dave']")).to_contain_text("restricted viewer")
    widget.screenshot(path=str(screenshots / f"settings-as-{user}.png"))

    # Registries page: org viewers create no registries; only org admins see the organisation.
    widget.locator(".rw-crumbs").get_by_role("link", name="Registries").click()
    expect(widget.locator(".rw-card[data-registry='Vision team']")).to_be_visible()
    expect(widget.get_by_role("button", name="Create registry")).to_have_count(1 if member else 0)
    expect(widget.get_by_role("link", name="Organization")).to_have_count(0)

    # History is readable by every role.
    widget.locator(".rw-card[data-registry='Vision team'] .rw-card-title").click()
    widget.get_by_role("link", name="History").click()
    expect(widget.locator("tr[data-action='registry.create']")).to_be_visible()

    # A version's page, where it is linked and its history: every role may look at them.
    widget.locator(".rw-crumbs").get_by_role("link", name="Vision team").click()
    widget.get_by_role("link", name="cats").click()
    widget.get_by_role("link", name="v4", exact=True).click()
    where = widget.get_by_role("region", name="Where it is linked")
    expect(where.locator("li")).to_have_count(2)
    expect(where.get_by_role("link", name="Models/cat-detectors:v0")).to_be_visible()
    expect(widget.get_by_role("alert")).to_have_count(0)
    widget.locator(".rw-page-head").get_by_role("link", name="History").click()
    expect(widget.locator(".rw-history-table tbody tr").last).to_have_attribute(
        "data-action", "artifact.create"
    )

    # Requests forged from the page are refused by the kernel and change nothing.
    forged = [
        ("registry.type.add", {"name": "Vision team", "type": "onnx"}),
        ("registry.member.role", {"name": "Vision team", "user": user, "role": "admin"}),
        ("registry.protected.remove", {"name": "Vision team", "alias": "production"}),
        ("registry.update", {"name": "Vision team", "description": "mine now"}),
    ]
    if not member:
        forged.append(("link.create", {"artifact": "cat-resnet:v0", "collection": "Vision team/x"}))
    for method, params in forged:
        answer = _forge(widget, method, params)
        assert answer["ok"] is False, (method, answer)
        assert answer["type"] == "PermissionDeniedError", (method, answer)
        # Said to the user in the widget's words; the library's message names them.
        assert answer["message"].startswith("You may not"), (method, answer)
        assert "registry's Settings, under Members" in answer["message"]
        assert user in answer["detail"]
    assert UNCHANGED in _check_store(nb)
    assert page.page_errors == []


def test_admin_runs_the_registry_from_the_widget(page, lab, screenshots):
    nb, widget = _open(page, lab, "ada", "role-ada")
    expect(widget.get_by_role("button", name="Link a version")).to_be_visible()
    expect(widget.get_by_role("button", name="Remove alias production")).to_be_visible()
    # A forged request as admin still meets the domain's rules.
    answer = _forge(widget, "registry.delete", {"name": "Models", "confirm": "Models"})
    assert answer["type"] == "ConflictError"
    assert "core registry" in answer["message"]

    widget.locator(".rw-crumbs").get_by_role("link", name="Vision team").click()
    widget.get_by_role("link", name="Settings").click()
    expect(widget.get_by_test_id("own-role")).to_contain_text("You (ada): effective role admin")

    types = widget.get_by_role("region", name="Accepted types")
    # A type some collection uses cannot be removed: its Remove says why, naming them.
    kept = (
        "The collection “cats” uses the type “model”: it can be removed once no collection "
        "of Vision team uses it."
    )
    expect(types.locator("[data-type='model']")).to_contain_text(kept)
    remove_model = types.get_by_role("button", name="Remove type model")
    expect(remove_model).to_be_disabled()
    expect(remove_model).to_have_accessible_description(kept)
    expect(types.locator("[data-type='eval']")).to_contain_text("not used by any collection")
    expect(types.get_by_role("button", name="Remove type eval")).to_be_enabled()
    types.get_by_label("New type").fill("onnx")
    types.get_by_role("button", name="Add type").click()
    expect(types.locator("[data-type='onnx']")).to_contain_text("not used by any collection")
    types.get_by_role("button", name="Remove type onnx").click()
    expect(types.locator("[data-type='onnx']")).to_have_count(0)

    members = widget.get_by_role("region", name="Members")
    members.get_by_label("Role of carol").select_option("member")
    expect(members.locator("[data-member='carol'] td").nth(2)).to_have_text("member")
    members.get_by_role("button", name="Remove dave").click()
    expect(members.locator("[data-member='dave']")).to_have_count(0)
    members.get_by_label("User to add").select_option("dave")
    members.get_by_label("Role of the new member").select_option("restricted_viewer")
    members.get_by_role("button", name="Add member").click()
    expect(members.locator("[data-member='dave']")).to_contain_text("restricted viewer")

    protected = widget.get_by_role("region", name="Protected aliases")
    protected.get_by_label("Alias to protect").fill("staging")
    protected.get_by_role("button", name="Protect", exact=True).click()
    expect(protected.locator(".rw-protected", has_text="staging")).to_be_visible()
    protected.get_by_role("button", name="Unprotect staging").click()
    expect(protected.locator(".rw-protected", has_text="staging")).to_have_count(0)
    visibility = widget.get_by_role("region", name="Visibility")
    expect(visibility).to_contain_text("cannot be made visible to the whole organization again")

    general = widget.get_by_role("region", name="Name and description")
    general.get_by_role("textbox", name="Description").fill("Vision models, reviewed weekly")
    general.get_by_role("button", name="Save").click()
    expect(general.get_by_role("button", name="Save")).to_be_disabled()

    # An organization registry: restrict with a confirmation, then delete by typing its name.
    w_cell = nb.add_cell('w.open("?settings=Scratch")')
    nb.run(w_cell)
    expect(widget.locator(".rw-page-head h2")).to_have_text("Settings of Scratch")
    visibility.get_by_role("button", name="Restrict to members…").click()
    expect(visibility.get_by_role("group")).to_contain_text("This cannot be switched back")
    visibility.get_by_role("button", name="Restrict permanently").click()
    expect(visibility.locator(".rw-vis-restricted")).to_be_visible()
    expect(visibility.get_by_role("button", name="Restrict to members…")).to_have_count(0)
    danger = widget.get_by_role("region", name="Delete registry")
    danger.get_by_role("button", name="Delete registry…").click()
    danger.get_by_label("Type Scratch to confirm").fill("scratch")
    expect(danger.get_by_role("button", name="Delete this registry")).to_be_disabled()
    danger.get_by_label("Type Scratch to confirm").fill("Scratch")
    danger.get_by_role("button", name="Delete this registry").click()
    expect(widget.locator(".rw-crumb-current")).to_have_text("Registries")
    expect(widget.locator(".rw-card[data-registry='Scratch']")).to_have_count(0)

    # Core registries say why they cannot be edited; the org page adds a user.
    widget.locator(".rw-card[data-registry='Models'] .rw-card-title").click()
    widget.get_by_role("link", name="Settings").click()
    expect(general).to_contain_text("core registry: its name and description are preconfigured")
    expect(visibility).to_contain_text("core registries are visible to the whole organization")
    expect(types.locator("[data-type='model']")).to_contain_text("can never be removed")
    expect(danger).to_contain_text("cannot be deleted")
    widget.locator(".rw-crumbs").get_by_role("link", name="Registries").click()
    widget.get_by_role("link", name="Organization").click()
    org = widget.locator(".rw-org")
    org.get_by_label("User name").fill("erin")
    org.get_by_role("button", name="Add user").click()
    expect(org.locator("[data-user='erin']")).to_contain_text("member")
    org.get_by_label("User name").fill("erin")
    org.get_by_role("button", name="Add user").click()
    expect(org.get_by_role("alert")).to_contain_text("already exists")
    widget.screenshot(path=str(screenshots / "organisation-light.png"))
    widget.locator(".rw-crumbs").get_by_role("link", name="Registries").click()
    widget.locator(".rw-card[data-registry='Models'] .rw-card-title").click()
    widget.get_by_role("link", name="Settings").click()
    expect(types.locator("[data-type='model']")).to_be_visible()
    widget.screenshot(path=str(screenshots / "settings-core-light.png"))

    check = nb.add_cell(
        "t = rw.Client(STORE, user='ada')\n"
        "print('CHECK', t.registry('Vision team').description, "
        "[r.name for r in t.registries()], [u.name for u in t.users()])"
    )
    nb.run(check)
    assert (
        "CHECK Vision models, reviewed weekly ['Datasets', 'Models', 'Vision team'] "
        "['ada', 'bob', 'carol', 'dave', 'erin']"
    ) in nb.output(check)
    assert page.page_errors == []


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_history_compare_and_lineage_screenshots(page, lab, screenshots, theme):
    lab.set_theme("JupyterLab Dark" if theme == "dark" else "JupyterLab Light")
    try:
        _nb, widget = _open(page, lab, "ada", f"admin-screens-{theme}")
        widget.get_by_role("link", name="Compare versions").click()
        chart = widget.locator(".rw-chart[data-metric='accuracy']")
        expect(chart).to_be_visible()
        # production (v3) against the newest version (v5) is compared by default.
        table = widget.locator(".rw-compare-table")
        expect(table.locator("thead th")).to_have_count(3)
        expect(table.locator("tr[data-key='accuracy']")).to_have_attribute("data-differs", "true")
        expect(table.locator("tr[data-key='optimizer.name']")).to_have_attribute(
            "data-differs", "false"
        )
        expect(chart.locator(".rw-chart-alias[data-version='v3']")).to_contain_text("production")
        expect(chart.locator(".rw-chart-alias.rw-chart-protected")).to_have_count(1)
        expect(chart.locator(".rw-chart-selected")).to_have_count(2)
        chart.locator("circle[data-version='v0']").click()
        expect(table.locator("thead th")).to_have_count(4)
        _full_height(widget)
        widget.screenshot(path=str(screenshots / f"compare-{theme}.png"))
        widget.get_by_label("Only differences").check()
        expect(table.locator("tr[data-key='optimizer.name']")).to_have_count(1)  # sgd vs adamw
        expect(table.locator("tr[data-key='optimizer.lr']")).to_have_count(0)

        widget.locator(".rw-crumbs").get_by_role("link", name="cats").click()
        widget.get_by_role("link", name="History").click()
        rows = widget.locator(".rw-history-table tbody tr")
        expect(rows.first).to_have_attribute("data-action", "alias.set")
        widget.get_by_label("Kind of change").select_option("link")
        expect(rows.first).to_have_attribute("data-action", "link.create")
        expect(widget.locator(".rw-history-table tbody tr[data-action^='alias']")).to_have_count(0)
        widget.get_by_label("Kind of change").select_option("")
        expect(rows.first).to_have_attribute("data-action", "alias.set")
        widget.screenshot(path=str(screenshots / f"history-{theme}.png"))

        widget.locator(".rw-crumbs").get_by_role("link", name="Vision team").click()
        widget.get_by_role("link", name="Settings").click()
        expect(widget.get_by_test_id("own-role")).to_be_visible()
        _full_height(widget)
        widget.screenshot(path=str(screenshots / f"settings-{theme}.png"))

        widget.locator(".rw-crumbs").get_by_role("link", name="Vision team").click()
        widget.get_by_role("link", name="cats").click()
        widget.get_by_role("link", name="v4", exact=True).click()
        where = widget.get_by_role("region", name="Where it is linked")
        expect(where.locator("li")).to_have_count(2)
        expect(where.locator("li[data-path='Models/cat-detectors:v0']")).to_contain_text(
            "candidate"
        )
        where.screenshot(path=str(screenshots / f"where-linked-{theme}.png"))
        widget.locator(".rw-page-head").get_by_role("link", name="History").click()
        actions = widget.locator(".rw-history-table tbody tr")
        expect(actions.last).to_have_attribute("data-action", "artifact.create")
        expect(
            widget.locator(".rw-history-table tbody tr[data-action='link.create']")
        ).to_have_count(1)
        assert page.page_errors == []
    finally:
        lab.set_theme("JupyterLab Light")
