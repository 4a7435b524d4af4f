"""The chat model behind the llm generator: any OpenAI-compatible endpoint through langchain.

The API key is a ``SecretStr`` from ``KRATOMBOT_LLM_API_KEY`` and is handed to the client
and to nothing else; ``redact`` scrubs it (and any credentials in the URL) from every
message that goes to a log or a trace.
"""

from __future__ import annotations

import re
from typing import Iterable
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr

# Local servers (llama.cpp, Ollama, vLLM) ignore the key, but the OpenAI client insists on one;
# an explicit placeholder also stops it from picking up an unrelated OPENAI_API_KEY.
NO_KEY = "no-key-configured"


def public_url(url: str) -> str:
    """The endpoint URL without user:password, query or fragment (safe to log)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def secrets_of(api_key: SecretStr | None, base_url: str) -> tuple[str, ...]:
    """The secret strings that must never be logged: the key and any URL credentials."""
    found = []
    if api_key is not None and api_key.get_secret_value():
        found.append(api_key.get_secret_value())
    try:
        parts = urlsplit(base_url)
        found.extend(s for s in (parts.password, parts.username) if s)
    except ValueError:
        pass
    return tuple(found)


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret (and anything shaped like a bearer token) with ``***``."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return re.sub(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}", r"\1***", text)


def make_chat_model(settings):
    """``langchain_openai.ChatOpenAI`` for the configured endpoint (no request is made here).

    Retries are handled by the generator (``llm_max_retries``) so that the whole answer,
    retries included, stays within ``llm_timeout_s``; the client itself never retries.
    """
    from langchain_openai import ChatOpenAI

    key = settings.llm_api_key or SecretStr(NO_KEY)
    return ChatOpenAI(
        model=settings.llm_model,
        base_url=settings.llm_base_url,
        api_key=key,
        timeout=settings.llm_timeout_s,
        max_retries=0,
        temperature=settings.llm_temperature,
        seed=0,
        # "max_tokens" (not max_completion_tokens): what llama.cpp, Ollama and vLLM read.
        extra_body={"max_tokens": settings.llm_max_tokens},
        stream_usage=False,
    )
