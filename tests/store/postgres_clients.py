"""Child processes for the PostgreSQL failure tests: writers that report what they did.

Run as a script, a fresh interpreter::

    python tests/postgres_clients.py <url> <mode> <name> <count> <path> <folder>

It opens one client of the store at ``<url>`` (its blob location already recorded) and
then, ``count`` times (``0``: until killed), logs a version of artifact ``<name>`` with a
unique small file made in ``<folder>`` and links it into the collection ``<path>``
(``Registry/Collection``). ``mode`` is ``plain`` (two calls: log, then link) or ``batch``
(the two in one ``client.batch()``: one call, all or nothing). One JSON line per event,
flushed:

- ``ready`` once the client is open;
- ``begin {"i": i}`` before an operation;
- ``done {"i": i, "artifact": "name:vK", "link": "Registry/Collection:vN"}`` only after
  it returned (acknowledged);
- ``error {"i": i, "type": …, "message": …}`` when it raised a ``RegistryError`` (the
  writer then waits a moment and goes on with the next operation, on the same client);
- ``crash {"i": i, "type": …, "message": …}`` when it raised anything else; the writer
  stops with exit code 3.

A file's content is ``<name> <i>``: the parent tells which operation made a version from
its digest-independent content alone.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import registry_widget as rw


def content(name: str, i: int) -> bytes:
    """The file of operation ``i`` of writer ``name``."""
    return f"{name} {i}\n".encode()


def say(kind: str, payload: dict[str, object] | None = None) -> None:
    line = kind if payload is None else f"{kind} {json.dumps(payload)}"
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    url, mode, name, count_text, path, folder_text = argv
    count = int(count_text)
    folder = Path(folder_text)
    folder.mkdir(parents=True, exist_ok=True)
    client = rw.Client(url)
    say("ready")
    i = 0
    while count == 0 or i < count:
        file = folder / f"{name}-{i}.bin"
        file.write_bytes(content(name, i))
        say("begin", {"i": i})
        try:
            # The names are read inside the call, so that "done" follows its return at once.
            if mode == "batch":
                with client.batch():
                    version = client.log_artifact(name, type="model", files=file)
                    link = client.link(version, path)
                    ack = {"i": i, "artifact": version.ref, "link": link.path}
            else:
                version = client.log_artifact(name, type="model", files=file)
                ref = version.ref
                link = client.link(version, path)
                ack = {"i": i, "artifact": ref, "link": link.path}
            say("done", ack)
        except rw.RegistryError as exc:
            say("error", {"i": i, "type": type(exc).__name__, "message": str(exc)})
            time.sleep(0.05)
        except Exception as exc:
            say("crash", {"i": i, "type": type(exc).__name__, "message": repr(exc)})
            return 3
        file.unlink()
        i += 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
