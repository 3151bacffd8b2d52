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
"""

from __future__ import annotations

from typing import Any

from langchain_qwen import ChatQwen

MODEL = "qwen3-vl-plus"  # a vision model with tools and hybrid thinking (off by default)
OVERRIDE_MODEL = "qwen-vl-max"


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
