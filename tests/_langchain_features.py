"""ChatQwen's feature flags for langchain-tests' standard suites, shared by the emulator run
(tests/integration/langchain/test_standard.py) and the live run (tests/live).

Flags left at their default (off), and the standard tests they turn off:

* ``supports_pdf_inputs`` / ``supports_pdf_tool_message``: DashScope chat models take no PDF
  content (ChatQwen raises a clear ValueError for file blocks).
* ``supports_audio_inputs``: audio goes only to the Qwen-Audio/Omni models, not to the vision
  model under test (``qwen3-vl-plus``).
* ``supports_image_tool_message``: DashScope tool messages must have string content.
* ``enable_vcr_tests`` (``test_stream_time``): cassettes would record loopback traffic to an
  emulator on a random port; the emulator already replaces recordings, and client CPU per
  streamed chunk is measured in ``benchmarks/bench_langchain.py``.

The same flags run against DashScope's compatible mode and a vLLM server (the emulator's
flavour). One difference on vLLM, ``ChatQwenVLLMFeatures``:

* ``supported_usage_metadata_details`` without ``reasoning_output``: vLLM's usage has no
  reasoning-token count (no ``completion_tokens_details``; research notes §4), so there is no
  ``output_token_details.reasoning`` to report. ``cache_read_input`` stays: vLLM reports
  ``prompt_tokens_details.cached_tokens`` when launched with ``--enable-prompt-tokens-details``
  (the scripted reply carries it, as such a server would).
* ``test_anthropic_inputs`` is an expected failure (``InvalidRequestError``): its input marks
  blocks with ``cache_control``, DashScope's explicit context cache, which a self-hosted
  server does not have; ChatQwen refuses the marker there instead of dropping it (vLLM caches
  prefixes automatically: remove the markers). The rest of that test's conversions (tool_use
  blocks, images, tool results) run in the native and compatible-mode suites.
"""

from __future__ import annotations

from typing import Any

from langchain_qwen import ChatQwen

MODEL = "qwen3-vl-plus"  # a vision model with tools and hybrid thinking (off by default)
OVERRIDE_MODEL = "qwen-vl-max"
VLLM_MODEL = "Qwen/Qwen3-VL-8B-Instruct"  # the open-weight vision model with tools, on vLLM
VLLM_THINKING_MODEL = "Qwen/Qwen3-8B"
VLLM_OVERRIDE_MODEL = "Qwen/Qwen3-VL-32B-Instruct"


class ChatQwenFeatures:
    """Mix in before the langchain-tests base class."""

    @property
    def chat_model_class(self) -> type[ChatQwen]:
        return ChatQwen

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_image_urls(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_anthropic_inputs(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return OVERRIDE_MODEL

    @property
    def supported_usage_metadata_details(self) -> dict[str, Any]:
        return {
            "invoke": ["reasoning_output", "cache_read_input"],
            "stream": ["reasoning_output", "cache_read_input"],
        }


class ChatQwenVLLMFeatures(ChatQwenFeatures):
    """The same features on vLLM, minus a usage detail vLLM does not report (see above)."""

    @property
    def model_override_value(self) -> str:
        return VLLM_OVERRIDE_MODEL

    @property
    def supported_usage_metadata_details(self) -> dict[str, Any]:
        return {"invoke": ["cache_read_input"], "stream": ["cache_read_input"]}
