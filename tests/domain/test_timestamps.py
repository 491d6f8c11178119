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


def _nanoseconds(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1) * 1000


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 1, 2, 3, 4, 5, 0, timezone.utc), "2026-01-02T03:04:05.000000Z"),
        (datetime(2026, 12, 31, 23, 59, 59, 999999, timezone.utc), "2026-12-31T23:59:59.999999Z"),
        (datetime(2000, 2, 29, 0, 0, 0, 1, timezone.utc), "2000-02-29T00:00:00.000001Z"),
    ],
)
def test_a_whole_second_keeps_its_six_digits(
    monkeypatch: pytest.MonkeyPatch, moment: datetime, text: str
) -> None:
    monkeypatch.setattr(session, "_clock", lambda: _nanoseconds(moment) + 999)
    assert session.now() == text


def test_the_seconds_follow_the_clock_from_one_stamp_to_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    start = datetime(2026, 11, 30, 23, 59, 58, 500000, timezone.utc)
    steps = [timedelta(0), timedelta(microseconds=1), timedelta(seconds=1), timedelta(seconds=2)]
    steps += [timedelta(days=400, microseconds=7), timedelta(seconds=-3)]
    stamps = []
    for step in steps:
        moment = start + step
        monkeypatch.setattr(session, "_clock", lambda moment=moment: _nanoseconds(moment))
        stamps.append(session.now())
    assert stamps == [
        "2026-11-30T23:59:58.500000Z",
        "2026-11-30T23:59:58.500001Z",
        "2026-11-30T23:59:59.500000Z",
        "2026-12-01T00:00:00.500000Z",
        "2028-01-04T23:59:58.500007Z",
        "2026-11-30T23:59:55.500000Z",
    ]
