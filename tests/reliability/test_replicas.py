"""Two app replicas side by side: nothing one holds is needed by the other.

They share one ``chroma run`` server (the index and its pointer) and one feedback database,
and each has its own data folder. A staff cookie from one works on the other, a rating
given through one is seen by the other's staff console, and a publish reaches both.
"""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from bot.guard.base import PassThroughGuard
from bot.wiring import build_components, load_chatbot

from .chroma_server import chroma_server, unique_prefix  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration

TOKEN = "replica shared staff token"


@pytest.fixture
def replicas(chroma_server, fake_settings, tmp_path):
    from bot.corpus import load_corpus
    from bot.web.app import create_app

    shared = fake_settings.model_copy(update={
        "chroma_mode": "http", "chroma_port": chroma_server.port, "collection_prefix": unique_prefix(),
        "feedback_db": f"sqlite:///{tmp_path / 'shared' / 'feedback.sqlite3'}", "staff_token": SecretStr(TOKEN),
        "auto_index": False,
    })
    publisher = build_components(shared)
    publisher.builder.build(load_corpus(shared.corpus_dir))
    apps = []
    for name in ("a", "b"):
        settings = shared.model_copy(update={"data_dir": tmp_path / f"replica-{name}"})
        bot = load_chatbot(settings, guard=PassThroughGuard())
        bot.index.recheck_seconds = 0  # notice a publish at once (2 s in production)
        apps.append(TestClient(create_app(bot, settings), follow_redirects=False).__enter__())
    yield shared, publisher, apps
    for client in apps:
        client.__exit__(None, None, None)


def test_replicas_share_index_feedback_and_staff_sessions(replicas, fixture_corpus):
    from bot.corpus import load_corpus

    shared, publisher, (a, b) = replicas
    bot_a, bot_b = a.app.state.chatbot, b.app.state.chatbot
    assert bot_a.index.current().version == bot_b.index.current().version

    # A visitor on replica A rates an answer; staff on replica B see it.
    chat = a.app.state.visitor
    *_, (session, _, _) = list(chat.respond("Can kratom cause liver injury?", None, "visitor-1"))
    index = max(session.replies)
    chat.rate(session, index, False)
    rows = b.app.state.feedback.store.find()
    assert [(r.conversation_id, r.message_index, r.rating) for r in rows] == [(session.conversation_id, index, "down")]

    # A staff login on A is valid on B (the cookie is an HMAC of the shared token, not a server session).
    login = a.post("/staff/login", data={"token": TOKEN})
    assert login.status_code == 303
    cookie = login.cookies.get("kratombot_staff") or login.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    b.cookies.set("kratombot_staff", cookie, path="/staff")
    assert b.get("/staff/config").status_code == 200

    # A publish reaches both replicas without a restart.
    before = bot_a.index.current().version
    (fixture_corpus / "docs" / "what-is-kratom.md").unlink()
    publisher.builder.build(load_corpus(fixture_corpus))
    assert bot_a.index.current().version == bot_b.index.current().version != before
    for client in (a, b):
        health = client.get("/healthz").json()
        assert health["status"] == "ok" and health["index"]["version"] != before
