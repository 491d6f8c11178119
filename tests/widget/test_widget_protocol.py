"""One registry of request handlers: every name once, every name the frontend sends."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from registry_widget.widget import app
from registry_widget.widget.protocol import HANDLERS, Handler, Params, handler

JS_SRC = Path(__file__).resolve().parents[2] / "js" / "src"


def _answer(_client: object, p: Params) -> dict[str, object]:
    p.done()
    return {"ok": True}


def test_a_name_registered_twice_is_refused_at_import_time() -> None:
    registry: dict[str, Handler] = {}
    handler("thing.get", registry)(_answer)

    def other(_client: object, p: Params) -> dict[str, object]:
        return {}

    with pytest.raises(ValueError, match=r"'thing\.get' is handled twice") as caught:
        handler("thing.get", registry)(other)
    assert "_answer" in str(caught.value)
    assert "other" in str(caught.value)
    assert registry == {"thing.get": _answer}  # the first handler stays


def test_the_widget_registry_refuses_a_second_handler_for_a_known_request() -> None:
    before = dict(HANDLERS)
    with pytest.raises(ValueError, match=r"'registry\.get' is handled twice"):
        handler("registry.get")(_answer)
    assert before == HANDLERS


def test_every_request_the_frontend_sends_has_a_handler() -> None:
    sent = set()
    for path in JS_SRC.rglob("*.js"):
        sent |= set(re.findall(r"(?:invoke|useRequest)\(\s*\"([a-z.]+)\"", path.read_text()))
    assert len(sent) > 30  # the pattern still finds the calls
    assert sent - set(HANDLERS) == set()


def test_handlers_are_grouped_in_the_modules_that_say_who_may_call_them() -> None:
    where = {name: fn.__module__.rsplit(".", 1)[-1] for name, fn in HANDLERS.items()}
    assert {m.__name__.rsplit(".", 1)[-1] for m in app._HANDLER_MODULES} == set(where.values())
    assert where["registry.get"] == "reads"
    assert where["settings.get"] == "reads"
    assert where["collection.find"] == "reads_find"
    assert where["alias.set"] == "members"
    assert where["artifact.update"] == "members"
    assert where["registry.member.role"] == "admin"
    assert where["registry.type.add"] == "admin"
    assert where["history.get"] == "insight"
    assert where["compare.get"] == "insight"
    assert where["file.preview"] == "files"
