"""The web app: the visitor page at ``/``, the staff console at ``/staff``, and ``/healthz``.

``create_app(chatbot, settings)`` returns a FastAPI (ASGI) application with both Gradio
apps mounted; ``serve(settings)`` builds the chatbot once through ``wiring.load_chatbot``
and runs it with uvicorn. Nothing is built at import time.

Privacy: uvicorn's access log is off (it would record client IP addresses), and no
handler logs message text unless ``KRATOMBOT_DEBUG_TRANSCRIPTS`` is on.
"""


import contextlib
import html
import logging
import threading
from pathlib import Path

from .. import _offline  # noqa: F401  (before gradio is imported)
from .. import __version__
from ..errors import BotError
from ..feedback import FeedbackRecorder, FeedbackError, open_feedback
from ..settings import Settings
from .security import STAFF_COOKIE, STAFF_PREFIX, RateLimiter, StaffAuth, StaffGate
from .text import UiText

log = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parent / "assets"
PURGE_EVERY_S = 24 * 3600


def create_app(chatbot, settings: Settings, *, recorder: FeedbackRecorder | None = None):
    """Build the ASGI app (FastAPI) around a ready chatbot: visitor page, staff console, health endpoint."""
    import gradio as gr
    from fastapi import FastAPI, Request
    from fastapi.responses import HTMLResponse, RedirectResponse

    from .staff import StaffConsole, build_staff_blocks
    from .visitor import VisitorChat, build_visitor_blocks

    ui = UiText(chatbot.prompts)
    recorder = recorder or open_feedback(settings.feedback_url)
    auth = StaffAuth(_secret(settings.staff_token))
    stop = threading.Event()

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        purger = threading.Thread(target=_purge_loop, args=(recorder, settings.feedback_retention_days, stop), name="feedback-purge", daemon=True)
        purger.start()
        try:
            yield
        finally:
            stop.set()
            if not recorder.flush():
                log.error("%d feedback rating(s) could not be written before shutdown", recorder.pending)

    app = FastAPI(title="kratom-bot", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.chatbot = chatbot
    app.state.settings = settings
    app.state.feedback = recorder
    app.state.staff_auth = auth

    @app.get("/healthz", include_in_schema=False)
    def healthz():
        return _health(chatbot, recorder)

    theme = _theme(gr)
    css = (ASSETS / "app.css").read_text(encoding="utf-8")
    head = f"<script>{(ASSETS / 'app.js').read_text(encoding='utf-8')}</script>".replace(
        "__MAX_INPUT__", str(int(chatbot.max_input_chars))
    )
    mount_args = dict(
        footer_links=[], run_history=False, show_error=False, ssr_mode=False, pwa=False, mcp_server=False,
        enable_monitoring=False, theme=theme, css=css, head=head,
    )

    if auth.enabled:
        login_limiter = RateLimiter(10)  # token guesses per minute, for all clients together
        console = StaffConsole(chatbot, settings, recorder, auth, ui)
        app.state.staff = console

        @app.get(f"{STAFF_PREFIX}/login", include_in_schema=False)
        def login_form():
            return HTMLResponse(_login_page(ui, ""), headers={"cache-control": "no-store"})

        @app.post(f"{STAFF_PREFIX}/login", include_in_schema=False)
        async def login(request: Request):
            form = await request.form()
            if login_limiter.check("login"):
                return HTMLResponse(_login_page(ui, ui.text("ui_staff_slow_down")), status_code=429)
            if not auth.check_token(str(form.get("token", ""))):
                log.warning("staff login refused")
                return HTMLResponse(_login_page(ui, ui.text("ui_staff_refused")), status_code=401)
            log.info("staff login")
            response = RedirectResponse(f"{STAFF_PREFIX}/", status_code=303)
            response.set_cookie(
                STAFF_COOKIE, auth.cookie_value(), httponly=True, samesite="strict", path=STAFF_PREFIX,
                secure=request.url.scheme == "https", max_age=12 * 3600,
            )
            return response

        @app.get(f"{STAFF_PREFIX}/logout", include_in_schema=False)
        def logout():
            response = RedirectResponse(f"{STAFF_PREFIX}/login", status_code=303)
            response.delete_cookie(STAFF_COOKIE, path=STAFF_PREFIX)
            return response

        gr.mount_gradio_app(app, build_staff_blocks(console, ui), path=STAFF_PREFIX, max_file_size="5mb", **mount_args)
    else:

        @app.api_route(STAFF_PREFIX, methods=["GET", "POST"], include_in_schema=False)
        @app.api_route(STAFF_PREFIX + "/{rest:path}", methods=["GET", "POST"], include_in_schema=False)
        def staff_off(rest: str = ""):
            page = _page(ui.text("ui_staff_title"), f"<p>{html.escape(ui.text('ui_staff_off'))}</p>")
            return HTMLResponse(page, status_code=404)

    chat = VisitorChat(chatbot, settings, recorder, ui)
    app.state.visitor = chat
    # The visitor page serves no files. Gradio keeps every app's uploads and outputs in one
    # shared folder, so block it here: staff uploads and exports (visitor conversations)
    # must never be reachable through the public app.
    from gradio.utils import get_upload_folder

    gr.mount_gradio_app(
        app, build_visitor_blocks(chat, ui), path="", max_file_size="1kb", blocked_paths=[get_upload_folder()], **mount_args
    )
    app.add_middleware(StaffGate, auth=auth)
    return app


def _secret(value) -> str | None:
    """The plain value of a SecretStr setting (tolerates a plain str from model_copy)."""
    if value is None:
        return None
    return value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)


def _health(chatbot, recorder: FeedbackRecorder):
    from fastapi.responses import JSONResponse

    body: dict = {"status": "ok", "app_version": __version__, "corpus_version": chatbot.corpus_version}
    code = 200
    try:
        build = chatbot.index.current()
        body["index"] = {"status": "serving", "version": build.version, "created": build.manifest.get("created")}
    except BotError as exc:
        body["index"] = {"status": "unavailable", "error": str(exc)}
        body["status"] = "unavailable"
        code = 503
    except Exception as exc:  # a store client error: report, do not crash the probe
        body["index"] = {"status": "unavailable", "error": type(exc).__name__}
        body["status"] = "unavailable"
        code = 503
    feedback: dict = {"status": "ok" if recorder.healthy else "failing", "pending": recorder.pending}
    if recorder.store is not None:
        try:
            recorder.store.ping()
            feedback["database"] = recorder.store.dialect
        except FeedbackError:
            feedback["status"] = "failing"
    else:
        feedback["status"] = "failing"
    body["feedback"] = feedback
    if code == 200 and feedback["status"] != "ok":
        body["status"] = "degraded"  # answers still work; ratings are queued in memory
    return JSONResponse(body, status_code=code, headers={"cache-control": "no-store"})


def _purge_loop(recorder: FeedbackRecorder, days: int, stop: threading.Event) -> None:
    """Delete feedback older than the retention period at start-up and then daily."""
    while not stop.is_set():
        if recorder.store is not None:
            try:
                recorder.store.purge(days)
            except FeedbackError as exc:
                log.error("feedback purge failed: %s", exc)
        stop.wait(PURGE_EVERY_S)


def _theme(gr):
    return gr.themes.Soft(
        primary_hue=gr.themes.colors.teal,
        secondary_hue=gr.themes.colors.slate,
        neutral_hue=gr.themes.colors.slate,
        radius_size=gr.themes.sizes.radius_md,
        font=["Inter", "system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"],
    )


def _page(title: str, body: str) -> str:
    css = (ASSETS / "login.css").read_text(encoding="utf-8")
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{css}</style></head>"
        f"<body><main class='card'>{body}</main></body></html>"
    )


def _login_page(ui: UiText, error: str) -> str:
    message = f"<p class='error' role='alert'>{html.escape(error)}</p>" if error else ""
    body = (
        f"<h1>{html.escape(ui.text('ui_staff_title'))}</h1>"
        f"<p>{html.escape(ui.text('ui_staff_login'))}</p>{message}"
        f"<form method='post' action='{STAFF_PREFIX}/login'>"
        "<label for='token'>Staff token</label>"
        "<input id='token' name='token' type='password' autocomplete='current-password' required autofocus>"
        "<button type='submit'>Open console</button></form>"
    )
    return _page(ui.text("ui_staff_title"), body)


def serve(settings: Settings | None = None) -> None:
    """Build the chatbot once (indexing if needed) and serve the app until interrupted."""
    import uvicorn

    from ..wiring import load_chatbot

    settings = settings or Settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    chatbot = load_chatbot(settings)
    app = create_app(chatbot, settings)
    log.info("serving on http://%s:%d (staff console %s)", settings.host, settings.port, "on" if settings.staff_token else "off")
    uvicorn.run(
        app, host=settings.host, port=settings.port, access_log=False, log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=10,
    )
