"""A local DashScope emulator for testing your application offline.

``DashScopeEmulator`` is a real HTTP/1.1 server on loopback that speaks the DashScope wire
protocol (native ``/api/v1/services/...`` and the OpenAI-compatible ``/compatible-mode/v1``):
the same paths, authentication, SSE framing, quirks (``finish_reason`` as the string
``"null"``, cumulative usage in every event, errors as ``event:error`` frames) and parameter
validation messages as the real service. It needs only the standard library, and no key or
network. Point any client (this package, the official SDK, the OpenAI SDK, curl) at it.

Setup::

    from qwen_dashscope.testing import DashScopeEmulator, Reply, ToolCall

    with DashScopeEmulator() as emu:          # port 0: an ephemeral port
        client = MyApp(base_url=emu.base_url, api_key=emu.api_key)
        ...

``emu.base_url`` is the native base (``http://127.0.0.1:<port>/api/v1``, what
``DASHSCOPE_HTTP_BASE_URL`` holds), ``emu.compatible_base_url`` the OpenAI-compatible one
(rerank's ``/compatible-api/v1/reranks`` sits at the host root, as on the service).
Only ``Authorization: Bearer <emu.api_key>`` is accepted (``api_key=None``: any key).

Scripting answers::

    emu.enqueue(Reply.text("Hello!"))                                   # next generation call
    emu.enqueue(Reply.tool_calls([ToolCall("get_weather", {"city": "杭州"})]))
    emu.when(lambda req: "weather" in req.last_user_text, Reply.text("Sunny"))  # a rule
    emu.enqueue(Reply.error(429, "Throttling.RateQuota", "Requests rate limit exceeded."))
    emu.enqueue(Reply.error(500, "InternalError", "boom", in_stream=True, after_chunks=2))
    emu.enqueue(Reply.drop(after_chunks=3))                             # connection cut
    emu.enqueue(Reply.delay(2.0))                                       # slow default answer
    emu.enqueue(Reply.raw(200, b"not json", {"content-type": "application/json"}))
    apply_replies(emu, "examples/emulator-replies.json")  # rules from a replies file (below)

Each generation request (text, multimodal, compat chat) takes the next queued reply; when the
queue is empty the first matching rule answers (rules also see embedding and rerank calls);
otherwise the **default reply** answers: the text ``"[emulator] "`` followed by the last user
message's text truncated to 200 characters (or ``"[emulator] tool results: …"`` when the
conversation ends with tool messages). The default never calls a tool. Thinking requests get a
short deterministic ``reasoning_content`` first. A request that fails validation gets the
service's error and consumes nothing.

Inspecting traffic::

    req = emu.requests[-1]            # RecordedRequest, in arrival order
    req.endpoint, req.stream, req.model, req.parameters, req.messages, req.last_user_text
    req.headers["x-dashscope-sse"]    # case-insensitive

What is emulated (details in the project's protocol notes):

* text and multimodal generation, ``result_format`` text/message, incremental and cumulative
  streams, tool calls streamed in fragments, thinking (``reasoning_content``) with
  ``thinking_budget``, ``max_tokens`` truncation (``finish_reason: "length"``);
* embeddings (v1-v4, ``dimension``, batch limits) whose vectors are hashed bags of words and
  Chinese character bigrams, so similar texts really are close; rerank on the native
  text-rerank and ``/compatible-api/v1/reranks`` endpoints, the document sharing most words
  with the query first (qwen3-vl-rerank also ranks image and video documents);
* multimodal embeddings (tongyi-embedding-vision-*, qwen3-vl-embedding with
  ``enable_fusion``, multimodal-embedding-v1) with each family's usage keys: a text gets its
  text-embedding vector, an image or video its caption's, from a scripted mapping
  (``DashScopeEmulator(image_captions={"photo.png": "a clay teapot"})`` or
  ``emu.describe_image(url_path_or_bytes, caption)``);
* token usage from a documented deterministic count (one per CJK character, per word, per
  punctuation mark; 256 per image);
* a model table (``DEFAULT_MODELS``) you can patch: ``DashScopeEmulator(models={"qwen-plus":
  {"max_output": 100}, "my-model": ModelSpec("my-model", "text-generation")})``.

Knobs: ``DashScopeEmulator(chunk_delay=0.05)`` spaces stream events out,
``shuffle_embeddings=True`` returns embeddings out of order (clients must sort by
``text_index``), ``emu.pending`` counts unconsumed queued replies.

The tokenizer (``/api/v1/tokenizer``) answers with the emulator's own tokens (as counted
above) and stable token ids.

Self-hosted Qwen servers::

    with DashScopeEmulator(flavour="vllm") as emu:       # also "sglang", "ollama", "llamacpp"
        llm = ChatQwen(model="Qwen/Qwen3-8B", base_url=emu.base_url, backend=emu.backend)
        emu.enqueue(Reply.unparsed_tool_calls([ToolCall("get_weather", {"city": "Rome"})],
                                              syntax="xml"))   # the server's parser fails

A flavour serves only the OpenAI API under ``/v1`` (``emu.base_url`` is ``…/v1``), in that
server's documented dialect: the reasoning field (vLLM ``reasoning``, SGLang / llama.cpp
``reasoning_content``, Ollama ``reasoning`` omitted when empty), where it reads the thinking
switch (``chat_template_kwargs`` / ``reasoning_effort``; Ollama ``reasoning_effort`` only) and
that a switch elsewhere is ignored (Qwen3 then thinks, as it does by default), tool-call
fragments (vLLM two entries per index, SGLang null ids, Ollama whole calls), usage only with
``stream_options.include_usage``, its error envelope and probe endpoint (``/version``,
``/get_model_info``, ``/api/version``, ``/props``). ``Flavour`` options emulate other
launches: ``dataclasses.replace(FLAVOURS["vllm"], reasoning_parser=False)`` (``<think>`` in
the content), ``tool_parser=False``, ``reasoning_keys=("reasoning", "reasoning_content")``
(vLLM 0.11-0.15), ``served_models=(...)``. ``Reply.unparsed_tool_calls`` (hermes / XML /
bare JSON, in the content or the reasoning) and ``Reply(text=..., in_reasoning=True)``
script the parser failures. No key is checked unless ``api_key=`` is given.

The Batch API (``/compatible-mode/v1/files`` and ``/batches``): ``emu.batches`` holds the
files and batches; each line runs through the compatible-mode logic above (rules and queued
replies apply); ``emu.batches.settings`` (``progress_polls``, ``seconds``,
``seconds_per_line``, limits, fault knobs) and ``emu.batches.clock`` drive the statuses.

Not emulated: ``n > 1`` (always one choice), ``stop`` sequences, ``logprobs``, web search,
code interpreter, partial mode, ``/think`` prompt switches, fine-tuning and async-task
endpoints (404).

Run it standalone with ``python -m qwen_dashscope.testing --port 8000`` (``--flavour vllm``
and the others for a self-hosted server; ``--port 0``: a free port; ``--api-key KEY``,
default ``sk-emulator``, or ``--any-key``; ``--chunk-delay``, by default 0.03 s when stdout is
a terminal and 0 otherwise; ``--replies FILE``: scripted answers from a JSON or TOML file of
rules, e.g. ``examples/emulator-replies.json``; ``--help`` has the format; ``apply_replies(emu,
FILE)`` scripts an emulator in your own code from the same file). It prints the base URLs and
the ``DASHSCOPE_API_KEY=... DASHSCOPE_HTTP_BASE_URL=...`` to point ``ChatQwen`` / ``Qwen`` at
it, and serves until Ctrl-C.
"""

from ._errors import ServiceError
from ._models import DEFAULT_MODELS, ModelSpec
from ._recorded import Headers, RecordedRequest
from ._replies import Reply, ToolCall
from ._script import RepliesFileError, apply_replies
from ._selfhosted import FLAVOURS, Flavour
from ._server import DashScopeEmulator
from ._tokens import count_tokens

__all__ = [
    "DEFAULT_MODELS",
    "FLAVOURS",
    "DashScopeEmulator",
    "Flavour",
    "Headers",
    "ModelSpec",
    "RecordedRequest",
    "RepliesFileError",
    "Reply",
    "ServiceError",
    "ToolCall",
    "apply_replies",
    "count_tokens",
]
