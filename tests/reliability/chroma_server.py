"""A real ``chroma run`` server for tests: free loopback port, data in a temp folder, stopped afterwards.

Import the fixtures into a test module (``from reliability.chroma_server import chroma_server``)
to use them outside this folder.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

CHROMA = Path(sys.executable).parent / "chroma"


def free_port() -> int:
    """A port that was free on loopback a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ChromaServer:
    """One ``chroma run`` process; ``kill()`` and ``start()`` again keep the port and the data folder."""

    def __init__(self, path: Path, port: int | None = None):
        self.path = Path(path)
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.log = self.path.parent / f"chroma-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        """Whether the server answers its heartbeat."""
        try:
            with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False

    def start(self, timeout: float = 60.0) -> "ChromaServer":
        """Start the server and wait until it answers."""
        if not CHROMA.exists():
            pytest.fail(f"the chroma CLI is missing at {CHROMA}; run scripts/install")
        self.path.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "RUST_BACKTRACE": "0", "NO_COLOR": "1"}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [str(CHROMA), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            if self.alive():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"chroma run did not answer on port {self.port} within {timeout:.0f}s")

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash or a lost machine would."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server gracefully, then by force."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)


def _started(path: Path) -> ChromaServer:
    for attempt in range(3):  # another process may take the free port before chroma binds it
        server = ChromaServer(path)
        try:
            return server.start()
        except RuntimeError:
            server.stop()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """One Chroma server for the whole session; tests keep apart by using their own collection prefix."""
    server = _started(tmp_path_factory.mktemp("chroma-data"))
    yield server
    server.stop()


@pytest.fixture
def own_chroma_server(tmp_path):
    """A Chroma server of this test alone (for killing and restarting it)."""
    server = _started(tmp_path / "chroma-data")
    yield server
    server.kill()


def unique_prefix(name: str = "t") -> str:
    """A collection prefix no other test uses."""
    return f"{name}{uuid.uuid4().hex[:10]}"
