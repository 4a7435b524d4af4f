"""The Chroma server settings beyond host and port: TLS, certificate checks and the auth token.

``chroma run`` itself serves plain HTTP without auth, so a deployment puts TLS and a token
check in front of it (a proxy or Chroma's distributed deployment). Here a small HTTPS proxy
with a self-signed certificate and a token check stands in front of a real ``chroma run``.
"""

from __future__ import annotations

import http.client
import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import SecretStr

from bot.errors import StoreUnavailable
from bot.guard.base import PassThroughGuard
from bot.store import ServerLayout, make_layout
from bot.wiring import load_chatbot

from .chroma_server import chroma_server, unique_prefix  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration

TOKEN = "s3cret-token-for-tests"


class TokenProxy:
    """HTTPS (or HTTP) on a free loopback port; forwards to Chroma only with the right token."""

    def __init__(self, upstream_port: int, header: str, certfile=None, keyfile=None):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _forward(self):
                want = f"Bearer {TOKEN}" if header == "Authorization" else TOKEN
                if self.headers.get(header) != want:
                    proxy.refused += 1
                    body = b'{"error": "Unauthorized"}'
                    self.send_response(401)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                proxy.forwarded += 1
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else None
                conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=data, headers=headers)
                resp = conn.getresponse()
                payload = resp.read()
                self.send_response(resp.status)
                for key, value in resp.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward

        self.refused = 0
        self.forwarded = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if certfile:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certfile, keyfile)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture
def proxies(chroma_server):
    made = []

    def make(header="Authorization", certificate=None):
        proxy = TokenProxy(chroma_server.port, header, *(map(str, certificate) if certificate else ()))
        made.append(proxy)
        return proxy

    yield make
    for proxy in made:
        proxy.close()


def test_https_with_a_private_ca_and_a_bearer_token(proxies, certificate, fake_settings):
    proxy = proxies(certificate=certificate)
    settings = fake_settings.model_copy(update={
        "chroma_mode": "http", "chroma_port": proxy.port, "chroma_ssl": True, "chroma_ssl_verify": str(certificate[0]),
        "chroma_auth_token": SecretStr(TOKEN), "collection_prefix": unique_prefix(),
    })
    layout = make_layout(settings)
    assert isinstance(layout, ServerLayout) and layout.describe().startswith("Chroma server at https://127.0.0.1:")
    bot = load_chatbot(settings, guard=PassThroughGuard())
    reply = bot.reply("Can kratom cause liver injury?")
    assert reply.citations and {c.source_id for c in reply.citations} == {"liver-injury"}
    assert proxy.forwarded > 0 and proxy.refused == 0


def test_x_chroma_token_header(proxies, fixture_corpus):
    from bot.chunking import Chunker
    from bot.corpus import load_corpus
    from bot.embedding import FakeEmbedder
    from bot.indexing import IndexBuilder

    proxy = proxies(header="X-Chroma-Token")
    layout = ServerLayout("127.0.0.1", proxy.port, unique_prefix(), token=TOKEN, auth_header="x-chroma-token")
    IndexBuilder(layout, FakeEmbedder(), Chunker(900)).build(load_corpus(fixture_corpus))
    assert layout.active().count("chunks") > 0 and proxy.refused == 0


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_missing_or_wrong_token_names_the_settings(proxies, token):
    proxy = proxies()
    layout = ServerLayout("127.0.0.1", proxy.port, unique_prefix(), token=token, timeout_s=5)
    with pytest.raises(StoreUnavailable, match="refused the credentials .*KRATOMBOT_CHROMA_AUTH_TOKEN"):
        layout.active_marker()
    assert proxy.refused >= 1 and proxy.forwarded == 0


def test_an_untrusted_certificate_is_refused(proxies, certificate):
    proxy = proxies(certificate=certificate)
    layout = ServerLayout("127.0.0.1", proxy.port, unique_prefix(), ssl=True, token=TOKEN, timeout_s=5)
    with pytest.raises(StoreUnavailable, match="(?i)certificate"):
        layout.active_marker()
    assert proxy.forwarded == 0
