"""kratom-bot: a cautious, cited health-information chatbot about kratom.

Importing the package sets the offline environment switches and nothing else; heavy
models load lazily inside ``load_chatbot``.
"""

from . import _offline  # noqa: F401  (must run before any model or telemetry library is imported)

__version__ = "0.1.0"

__all__ = ["__version__", "load_chatbot", "Settings", "Reply"]


def __getattr__(name: str):
    # Lazy exports keep `import bot` cheap: no torch, chroma or gradio at import time.
    if name == "load_chatbot":
        from .wiring import load_chatbot

        return load_chatbot
    if name == "Settings":
        from .settings import Settings

        return Settings
    if name == "Reply":
        from .schema import Reply

        return Reply
    raise AttributeError(f"module 'bot' has no attribute {name!r}")
