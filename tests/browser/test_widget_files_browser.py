"""A version's files in real JupyterLab: preview safely, download where the user says."""

from __future__ import annotations

import textwrap

from playwright.sync_api import expect

from tests.browser.lab import Notebook

PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="

SETUP = textwrap.dedent(
    f"""
    import base64, pathlib, registry_widget as rw
    client = rw.Client("files.json", user="ada")
    src = pathlib.Path("src-files"); src.mkdir(exist_ok=True)
    (src / "notes.txt").write_text("hello from the notes")
    (src / "data.csv").write_text("epoch,loss\\n" + "".join(f"{{i}},{{1 / (i + 1):.3f}}\\n" for i in range(40)))
    (src / "plot.png").write_bytes(base64.b64decode("{PNG_1PX}"))
    (src / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>')
    art = client.log_artifact("cat-resnet", type="model", files=src)
    client.link(art, "Models/cat-resnet", aliases=["staging"])
    """
)


def test_preview_and_download_files_of_a_version(page, lab, screenshots):
    nb = Notebook(
        page,
        lab,
        "files.ipynb",
        [SETUP, 'w = rw.RegistryWidget(client, route="Models/cat-resnet:v0")\nw'],
    ).open()
    nb.run(0)
    nb.run(1)
    widget = nb.cell(1).locator(".rw-app")
    expect(widget.locator("tr[data-file='data.csv']")).to_be_visible()

    widget.get_by_role("button", name="Preview data.csv").click()
    preview = widget.get_by_role("region", name="Preview of data.csv")
    expect(preview.locator("th").first).to_have_text("epoch")
    expect(preview.locator("tbody tr")).to_have_count(21)
    widget.get_by_role("button", name="Preview plot.png").click()
    preview = widget.get_by_role("region", name="Preview of plot.png")
    image = preview.locator("img")
    expect(image).to_have_attribute("src", r"data:image/png;base64," + PNG_1PX)
    widget.get_by_role("button", name="Preview logo.svg").click()
    preview = widget.get_by_role("region", name="Preview of logo.svg")
    expect(preview.locator("pre")).to_contain_text("<script>alert(2)</script>")
    assert widget.locator("svg[onload], script").count() == 0
    widget.screenshot(path=str(screenshots / "version-files-light.png"))

    widget.get_by_role("button", name="Download notes.txt").click()
    expect(widget.get_by_label("Download folder")).to_be_focused()
    page.keyboard.type("downloads/one")
    page.keyboard.press("Enter")
    expect(widget.locator(".rw-toast")).to_contain_text("Downloaded 1 file")
    widget.get_by_role("button", name="Download all (", exact=False).click()
    widget.get_by_label("Download folder").fill("../outside")
    page.keyboard.press("Enter")
    expect(widget.locator(".rw-download [role=alert]")).to_contain_text("outside the notebook")
    widget.get_by_label("Download folder").fill("downloads/all")
    page.keyboard.press("Enter")
    expect(widget.locator(".rw-toast").last).to_contain_text("Downloaded 4 files")
    check = nb.add_cell(
        "import pathlib\n"
        "print('FILES', sorted(str(p) for p in pathlib.Path('downloads').rglob('*') if p.is_file()))"
    )
    nb.run(check)
    assert (
        "FILES ['downloads/all/data.csv', 'downloads/all/logo.svg', 'downloads/all/notes.txt', "
        "'downloads/all/plot.png', 'downloads/one/notes.txt']"
    ) in nb.output(check)
    assert page.page_errors == []
