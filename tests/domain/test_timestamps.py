"""Timestamps: ISO-8601 in UTC with microseconds, one fixed width, so text order is time order."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import registry_widget as rw
from registry_widget.domain import session

STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def test_versions_are_stamped_in_utc_with_microseconds(client: rw.Client, tmp_path: Path) -> None:
    before = datetime.now(timezone.utc)
    (tmp_path / "w.bin").write_bytes(b"w")
    version = client.log_artifact("m", type="model", files=tmp_path / "w.bin")
    assert STAMP.fullmatch(version.created_at)
    stamped = datetime.strptime(version.created_at, "%Y-%m-%dT%H:%M:%S.%fZ")
    stamped = stamped.replace(tzinfo=timezone.utc)
    assert before - timedelta(seconds=1) <= stamped <= datetime.now(timezone.utc)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 1, 2, 3, 4, 5, 0, timezone.utc), "2026-01-02T03:04:05.000000Z"),
        (datetime(2026, 12, 31, 23, 59, 59, 999999, timezone.utc), "2026-12-31T23:59:59.999999Z"),
    ],
)
def test_a_whole_second_keeps_its_six_digits(
    monkeypatch: pytest.MonkeyPatch, moment: datetime, text: str
) -> None:
    class Clock(datetime):
        @classmethod
        def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
            assert tz is timezone.utc
            return moment

    monkeypatch.setattr(session, "datetime", Clock)
    assert session.now() == text
