"""The README's screenshots show the current widget: the browser tests take them."""

from __future__ import annotations

import re

import pytest

from tests import docs_screenshots as shots


def test_readme_shows_exactly_the_screenshots_the_browser_tests_take() -> None:
    readme = (shots.ROOT / "README.md").read_text()
    assert sorted(re.findall(r"\]\(docs/([\w.-]+\.png)\)", readme)) == sorted(shots.README_SHOTS)


@pytest.mark.parametrize("name", shots.README_SHOTS)
def test_readme_screenshot_was_taken_of_the_current_frontend(name: str) -> None:
    recorded = shots.recorded_digest(shots.DOCS / name)
    assert recorded == shots.frontend_digest(), (
        f"docs/{name} was not taken of the current frontend (js/src); run "
        "`.venv/bin/python -m pytest tests/browser/test_widget_screens.py` to retake it"
    )
