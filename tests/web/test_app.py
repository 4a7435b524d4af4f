"""The assembled ASGI app over HTTP: health endpoint, staff login and gate, console off without a token."""

from __future__ import annotations

import time

import pytest
from starlette.testclient import TestClient

from bot.feedback import FeedbackRecorder
from bot.web.app import create_app
from bot.web.security import STAFF_COOKIE

from .conftest import STAFF_TOKEN

HTML = {"accept": "text/html"}


@pytest.fixture
def client(fake_bot, web_settings):
    with TestClient(create_app(fake_bot, web_settings), follow_redirects=False) as c:
        yield c


def test_health_reports_index_and_feedback(client, fake_bot):
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["app_version"] and body["corpus_version"] == fake_bot.corpus_version
    assert body["index"]["status"] == "serving" and body["index"]["version"].startswith("v")
    assert body["feedback"] == {"status": "ok", "pending": 0, "database": "sqlite"}
    assert r.headers["cache-control"] == "no-store"


def test_health_is_503_without_an_index(web_settings, tmp_path):
    from bot.wiring import load_chatbot

    from .conftest import KeywordGuard

    settings = web_settings.model_copy(update={"data_dir": tmp_path / "empty", "auto_index": False})
    bot = load_chatbot(settings, guard=KeywordGuard())
    with TestClient(create_app(bot, settings)) as c:
        r = c.get("/healthz")
    assert r.status_code == 503 and r.json()["index"]["status"] == "unavailable"
    assert "kratom-bot index" in r.json()["index"]["error"]


def test_health_is_degraded_when_feedback_cannot_be_written(fake_bot, web_settings):
    with TestClient(create_app(fake_bot, web_settings, recorder=FeedbackRecorder(None, store_error="disk full"))) as c:
        r = c.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "degraded" and r.json()["feedback"]["status"] == "failing"


def test_visitor_page_is_served_and_carries_no_staff_console(client):
    page = client.get("/", headers=HTML)
    assert page.status_code == 200 and "<html" in page.text.lower()
    config = client.get("/config").text
    assert "Kratom health information" in config
    assert "Ask with trace" not in config and "Staff console" not in config


def test_staff_pages_redirect_to_login_and_api_is_refused(client):
    r = client.get("/staff/", headers=HTML)
    assert r.status_code == 303 and r.headers["location"] == "/staff/login"
    for path in ("/staff/config", "/staff/gradio_api/info", "/staff/theme.css"):
        assert client.get(path).status_code == 401, path
    assert client.post("/staff/gradio_api/queue/join", json={}).status_code == 401
    assert client.post("/staff/gradio_api/upload").status_code == 401


def test_wrong_token_is_refused(client):
    r = client.post("/staff/login", data={"token": "guess"})
    assert r.status_code == 401 and "not valid" in r.text and STAFF_COOKIE not in r.headers.get("set-cookie", "")


def test_right_token_opens_the_console(client):
    r = client.post("/staff/login", data={"token": STAFF_TOKEN})
    assert r.status_code == 303 and r.headers["location"] == "/staff/"
    cookie = r.headers["set-cookie"]
    assert f"{STAFF_COOKIE}=" in cookie and "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert STAFF_TOKEN.split()[0] not in cookie
    page = client.get("/staff/", headers=HTML)
    assert page.status_code == 200
    config = client.get("/staff/config")
    assert config.status_code == 200 and "Ask with trace" in config.text
    # Signing out drops the cookie.
    out = client.get("/staff/logout")
    assert out.status_code == 303 and f'{STAFF_COOKIE}=""' in out.headers["set-cookie"]


def test_bearer_token_works_for_scripts(fake_bot, web_settings):
    with TestClient(create_app(fake_bot, web_settings)) as c:
        assert c.get("/staff/config", headers={"authorization": f"Bearer {STAFF_TOKEN}"}).status_code == 200
        assert c.get("/staff/config", headers={"authorization": "Bearer nope"}).status_code == 401


def test_login_attempts_are_throttled(client):
    codes = [client.post("/staff/login", data={"token": f"guess-{i}"}).status_code for i in range(12)]
    assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]


def test_console_is_off_without_a_token(fake_bot, web_settings):
    settings = web_settings.model_copy(update={"staff_token": None})
    with TestClient(create_app(fake_bot, settings), follow_redirects=False) as c:
        for path in ("/staff", "/staff/", "/staff/login", "/staff/config", "/staff/gradio_api/info"):
            r = c.get(path, headers=HTML)
            assert r.status_code == 404 and "console is off" in r.text, path
        assert c.post("/staff/login", data={"token": ""}).status_code == 404
        assert c.get("/", headers=HTML).status_code == 200


def test_serve_builds_once_and_keeps_ip_addresses_out_of_logs(monkeypatch, web_settings):
    import uvicorn

    import bot.wiring
    from bot.web import app as web_app

    calls = {}
    monkeypatch.setattr(bot.wiring, "load_chatbot", lambda settings: calls.setdefault("bot", object()) and _FakeBot())
    monkeypatch.setattr(web_app, "create_app", lambda chatbot, settings: calls.setdefault("app", "ASGI"))
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.update(run=(app, kw)))
    web_app.serve(web_settings.model_copy(update={"port": 8123}))
    app, kw = calls["run"]
    assert app == "ASGI" and kw["access_log"] is False and kw["port"] == 8123 and kw["host"] == "127.0.0.1"


class _FakeBot:
    pass


def test_importing_the_web_package_builds_nothing():
    import subprocess
    import sys

    code = (
        "import sys, bot.web.app, bot.web.visitor, bot.web.staff;"
        "print('gradio' in sys.modules, 'torch' in sys.modules, 'chromadb' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "False"]


def test_start_up_purges_feedback_older_than_the_retention(fake_bot, web_settings):
    import datetime as dt

    from bot.feedback import FeedbackRecord, FeedbackStore

    store = FeedbackStore(web_settings.feedback_url)
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=web_settings.feedback_retention_days + 1)
    for conv, created in (("old", old), ("new", None)):
        store.save(FeedbackRecord(conversation_id=conv, message_index=1, rating="down", created_at=created))
    with TestClient(create_app(fake_bot, web_settings)) as c:
        c.get("/healthz")
        deadline = time.monotonic() + 10
        while store.count() != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert [r.conversation_id for r in store.find()] == ["new"]


def test_ratings_queued_during_an_outage_are_written_at_shutdown(fake_bot, web_settings):
    from bot.feedback import FeedbackRecord, FeedbackStore

    class Outage(FeedbackStore):
        broken = True

        def save(self, record):
            if self.broken:
                from bot.feedback import FeedbackError

                raise FeedbackError("cannot write to feedback database: database or disk is full")
            return super().save(record)

    store = Outage(web_settings.feedback_url)
    recorder = FeedbackRecorder(store)
    with TestClient(create_app(fake_bot, web_settings, recorder=recorder)) as c:
        assert recorder.submit(FeedbackRecord(conversation_id="queued", message_index=1, rating="up")) is False
        assert c.get("/healthz").json()["status"] == "degraded"
        store.broken = False  # the disk has room again by the time the app stops
    assert [r.conversation_id for r in store.find()] == ["queued"] and recorder.pending == 0


def test_staff_files_are_never_served_by_the_public_app(client):
    from pathlib import Path

    from gradio.utils import get_upload_folder

    folder = Path(get_upload_folder()) / "kratombot-test-export"
    folder.mkdir(parents=True, exist_ok=True)
    export = folder / "feedback.jsonl"
    export.write_text('{"comment": "a visitor conversation"}\n')
    try:
        assert client.get(f"/gradio_api/file={export}").status_code == 403
        client.post("/staff/login", data={"token": STAFF_TOKEN})
        staff = client.get(f"/staff/gradio_api/file={export}")
        assert staff.status_code == 200 and "a visitor conversation" in staff.text
    finally:
        export.unlink()
        folder.rmdir()
