"""Answer generators: the extractive composer (default) and an LLM behind a claim-level grounding gate.

* ``base``: the ``Generator`` interface, ``ExtractiveGenerator`` and ``GENERATOR_ACTIONS``
  (the input-guard actions a generator may answer; everything else never reaches it);
* ``llm``: ``LLMGenerator``, an OpenAI-compatible chat model whose sentences must pass the gate;
* ``gate``: the grounding gate (``GroundingGate``, ``GatedAnswer``, ``SentenceSplitter``);
* ``passages``: the numbered passages the model sees and is checked against;
* ``chat``: building ``ChatOpenAI`` from settings, and keeping the key out of logs;
* ``fake``: ``ScriptedChatModel``, the deterministic chat model tests use;
* ``streaming``: live streaming of released sentences for ``Chatbot.stream``;
* ``local_server``: the packaged SmolLM2 behind llama-cpp-python's server (the ``[llm]`` extra);
* ``compare``: gate statistics and the extractive-vs-llm table for ``kratom-bot eval``.

Nothing heavy is imported here; langchain and the model client load when a generator is built.
"""

from .base import GENERATOR_ACTIONS, ExtractiveGenerator, Generator

__all__ = ["GENERATOR_ACTIONS", "ExtractiveGenerator", "Generator"]
