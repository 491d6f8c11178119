"""A one-node OpenStack Swift with its S3 API, started on loopback for the test run.

Nothing is installed here: the Swift servers come from the virtual environment that
``make swift-deps`` creates (``.venv-swift/``, or ``$SWIFT_VENV``). :func:`start` writes
the configuration and the three rings into a temporary folder, starts the account,
container, object and proxy servers on free loopback ports, waits until the proxy
answers, and returns a :class:`Swift` whose :meth:`Swift.stop` ends them by their PIDs.

S3 clients use path-style addressing, the access key ``test:tester`` and the secret
``testing`` (tempauth).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ACCESS_KEY = "test:tester"
SECRET_KEY = "testing"
REGION = "us-east-1"


def swift_venv() -> Path:
    """The virtual environment holding Swift (``$SWIFT_VENV`` or ``.venv-swift``)."""
    venv = Path(os.environ.get("SWIFT_VENV", ".venv-swift"))
    return venv if venv.is_absolute() else ROOT / venv


def available() -> bool:
    """Whether the Swift servers are installed (``make swift-deps``)."""
    return (swift_venv() / "bin" / "swift-proxy-server").is_file()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _has_user_xattrs(folder: Path) -> bool:
    probe = folder / ".xattr-probe"
    probe.write_bytes(b"")
    try:
        os.setxattr(probe, "user.probe", b"1")
    except OSError:
        return False
    finally:
        probe.unlink()
    return True


@dataclass
class Swift:
    """A running Swift: its S3 endpoint, credentials, folder and server processes."""

    endpoint: str
    folder: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION

    def env(self) -> dict[str, str]:
        """The standard AWS variables that point an S3 client at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
        }

    def logs(self) -> str:
        """The servers' output so far (for failure messages)."""
        out = []
        for log in sorted(self.folder.glob("*.log")):
            out.append(f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}")
        return "\n".join(out)

    def stop(self) -> None:
        """Stop every server by its PID and remove the folder."""
        for proc in self.processes:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.processes:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


_SWIFT_CONF = """\
[swift-hash]
swift_hash_path_suffix = registry-widget-tests
swift_hash_path_prefix = registry-widget-tests

[storage-policy:0]
name = gold
default = yes
"""

_SERVER_CONF = """\
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
workers = 0
user = {user}
swift_dir = {swift_dir}
devices = {devices}
mount_check = false
log_level = WARNING

[pipeline:main]
pipeline = {kind}-server

[app:{kind}-server]
use = egg:swift#{kind}

[{kind}-replicator]

[{kind}-updater]

[{kind}-auditor]
"""

_PROXY_CONF = """\
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
workers = 0
user = {user}
swift_dir = {swift_dir}
log_level = WARNING

[pipeline:main]
pipeline = catch_errors gatekeeper proxy-logging listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:s3api]
use = egg:swift#s3api
location = {region}
min_segment_size = 5242880

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo
"""


def _run(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)


def start(parent: Path | None = None, *, timeout: float = 30.0) -> Swift:
    """Start a one-node Swift with s3api on free loopback ports and wait for it.

    Raises
    ------
    RuntimeError
        If Swift is not installed, the folder lacks user xattrs, or the proxy does not
        answer within ``timeout`` seconds (the servers' logs are in the message).
    """
    if not available():
        msg = f"Swift is not installed in {swift_venv()}; run `make swift-deps`"
        raise RuntimeError(msg)
    folder = Path(tempfile.mkdtemp(prefix="rw-swift-", dir=parent))
    if not _has_user_xattrs(folder):
        shutil.rmtree(folder, ignore_errors=True)
        msg = f"{folder.parent} has no user xattrs, which Swift's object server needs"
        raise RuntimeError(msg)
    bin_dir = swift_venv() / "bin"
    user = pwd.getpwuid(os.getuid()).pw_name
    devices = folder / "srv"
    (devices / "d1").mkdir(parents=True)
    (folder / "swift.conf").write_text(_SWIFT_CONF)
    ports = {kind: _free_port() for kind in ("account", "container", "object", "proxy")}
    for kind in ("account", "container", "object"):
        builder = f"{kind}.builder"
        ring = str(bin_dir / "swift-ring-builder")
        _run([ring, builder, "create", "4", "1", "1"], folder)
        _run([ring, builder, "add", f"r1z1-127.0.0.1:{ports[kind]}/d1", "1"], folder)
        _run([ring, builder, "rebalance"], folder)
        conf = _SERVER_CONF.format(
            port=ports[kind], user=user, swift_dir=folder, devices=devices, kind=kind
        )
        (folder / f"{kind}-server.conf").write_text(conf)
    (folder / "proxy-server.conf").write_text(
        _PROXY_CONF.format(port=ports["proxy"], user=user, swift_dir=folder, region=REGION)
    )
    endpoint = f"http://127.0.0.1:{ports['proxy']}"
    swift = Swift(endpoint=endpoint, folder=folder)
    try:
        for kind in ("account", "container", "object", "proxy"):
            log = (folder / f"{kind}.log").open("wb")
            proc = subprocess.Popen(
                [str(bin_dir / f"swift-{kind}-server"), str(folder / f"{kind}-server.conf")],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=folder,
            )
            log.close()
            swift.processes.append(proc)
        _wait(swift, timeout)
    except BaseException:
        swift.stop()
        raise
    return swift


def _wait(swift: Swift, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        dead = [p.args for p in swift.processes if p.poll() is not None]
        if dead:
            msg = f"Swift server exited: {dead}\n{swift.logs()}"
            raise RuntimeError(msg)
        with (
            contextlib.suppress(OSError, urllib.error.URLError),
            urllib.request.urlopen(f"{swift.endpoint}/info", timeout=1) as resp,
        ):
            if resp.status == 200:
                return
        if time.monotonic() > deadline:
            msg = f"Swift did not answer on {swift.endpoint} within {timeout} s\n{swift.logs()}"
            raise RuntimeError(msg)
        time.sleep(0.1)
