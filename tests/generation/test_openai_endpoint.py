"""The real ChatOpenAI client against an OpenAI-compatible server on loopback: the wire, failures and the key."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import SecretStr

from bot.generation.chat import make_chat_model, public_url, redact, secrets_of
from bot.generation.fake import quoting_script
from bot.generation.local_server import free_port
from bot.wiring import load_chatbot

from .conftest import LIVER_Q, PolicyGuard

KEY = "sk-test-9f8e7d6c5b4a3210-DO-NOT-LEAK"


@pytest.fixture
def endpoint_settings(llm_settings, openai_server):
    return llm_settings.model_copy(update={
        "llm_base_url": openai_server.base_url, "llm_model": "fake-model", "llm_api_key": SecretStr(KEY),
        "llm_timeout_s": 10.0, "llm_max_retries": 1,
    })


def test_public_url_and_redaction_hide_credentials():
    assert public_url("https://user:pa55@llm.example.org:8443/v1?key=abc#x") == "https://llm.example.org:8443/v1"
    secrets = secrets_of(SecretStr(KEY), "https://user:pa55@llm.example.org/v1")
    text = redact(f"failed with {KEY} for user:pa55 and Authorization: Bearer abcdefghijkl", secrets)
    assert KEY not in text and "pa55" not in text and "abcdefghijkl" not in text


def test_settings_and_the_client_never_print_the_key(endpoint_settings):
    for shown in (repr(endpoint_settings), str(endpoint_settings), json.dumps(endpoint_settings.model_dump(mode="json"))):
        assert KEY not in shown
    assert KEY not in repr(make_chat_model(endpoint_settings))


def test_a_bad_endpoint_url_is_reported_by_name():
    from bot.errors import ConfigError
    from bot.settings import load_settings

    with pytest.raises(ConfigError, match="KRATOMBOT_LLM_BASE_URL='localhost:8080'"):
        load_settings(llm_base_url="localhost:8080")



@pytest.mark.integration
def test_the_full_path_through_an_openai_compatible_server(endpoint_settings, openai_server):
    openai_server.script = quoting_script([(1, 0), (1, 1)])
    bot = load_chatbot(endpoint_settings, guard=PolicyGuard())
    reply = bot.reply(LIVER_Q)
    assert reply.answer_source == "llm" and reply.text.startswith("Yellowing") and reply.citations
    (request,) = openai_server.chat_requests
    body = request["body"]
    assert body["model"] == "fake-model" and body["stream"] is True and body["temperature"] == 0
    assert body["max_tokens"] == endpoint_settings.llm_max_tokens
    assert [m["role"] for m in body["messages"]] == ["system", "user"] and "[1] " in body["messages"][1]["content"]
    assert request["headers"]["authorization"] == f"Bearer {KEY}"  # the key is used, and only here
    assert reply.trace["generation"]["endpoint"] == openai_server.base_url


@pytest.mark.integration
def test_the_key_never_reaches_logs_or_traces_even_when_the_server_echoes_it(endpoint_settings, openai_server, caplog):
    openai_server.status = 500
    openai_server.error_body = json.dumps({"error": {"message": f"invalid request from key {KEY}"}})
    with caplog.at_level(logging.DEBUG):
        bot = load_chatbot(endpoint_settings, guard=PolicyGuard())
        failed = bot.reply(LIVER_Q)
        openai_server.status = 200
        openai_server.script = quoting_script([(1, 0)])
        ok = bot.reply(LIVER_Q)
    assert failed.trace["generation"]["outcome"] == "fallback" and failed.trace["generation"]["errors"]
    assert ok.answer_source == "llm"
    for reply in (failed, ok):
        assert KEY not in json.dumps(reply.to_json_dict())
    assert KEY not in caplog.text and "invalid request from key ***" in json.dumps(failed.trace["generation"])
    assert KEY not in repr(bot.generator)


@pytest.mark.integration
def test_server_errors_are_retried_within_the_budget_then_degrade(endpoint_settings, openai_server):
    openai_server.status = 503
    bot = load_chatbot(endpoint_settings.model_copy(update={"llm_max_retries": 2}), guard=PolicyGuard())
    reply = bot.reply(LIVER_Q)
    assert len(openai_server.chat_requests) == 3
    assert reply.answer_source == "documents" and reply.citations
    info = reply.trace["generation"]
    assert info["outcome"] == "fallback" and info["attempts"] == 3 and "endpoint failed" in info["note"]


@pytest.mark.integration
def test_a_rejected_key_is_not_retried(endpoint_settings, openai_server):
    openai_server.status = 401
    reply = load_chatbot(endpoint_settings, guard=PolicyGuard()).reply(LIVER_Q)
    assert len(openai_server.chat_requests) == 1 and reply.answer_source == "documents"


@pytest.mark.integration
def test_a_hanging_server_times_out_and_degrades(endpoint_settings, openai_server):
    openai_server.hang_s = 3.0
    settings = endpoint_settings.model_copy(update={"llm_timeout_s": 0.5, "llm_max_retries": 0})
    reply = load_chatbot(settings, guard=PolicyGuard()).reply(LIVER_Q)
    assert reply.answer_source == "documents" and reply.citations
    assert reply.trace["generation"]["timed_out"] and "timed out" in reply.trace["generation"]["note"]


@pytest.mark.integration
def test_nothing_listening_degrades_without_an_error(llm_settings):
    settings = llm_settings.model_copy(update={"llm_base_url": f"http://127.0.0.1:{free_port()}/v1", "llm_max_retries": 1})
    bot = load_chatbot(settings, guard=PolicyGuard())
    reply = bot.reply(LIVER_Q)
    events = list(bot.stream(LIVER_Q))
    assert reply.answer_source == "documents" and "Connection" in reply.trace["generation"]["errors"][0]
    assert events[-1].text == reply.text
