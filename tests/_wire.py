"""The native request body an adapter would send for a call, built without any I/O.

Adapter -> neutral ``ChatRequest`` -> the core's rules -> the native body: the same path the
clients take, minus the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qwen_dashscope import ChatRequest, resolve_chat
from qwen_dashscope._native import render_chat


def core_wire(request: ChatRequest, *, stream: bool = False) -> dict[str, Any]:
    """The body the core sends for a neutral request."""
    return render_chat(resolve_chat(request, stream=stream)).body


def langchain_wire(
    llm: Any, messages: Sequence[Any], *, stream: bool = False, **kwargs: Any
) -> dict[str, Any]:
    """ChatQwen: the body of ``llm.invoke(messages, **kwargs)``."""
    from langchain_core.messages import convert_to_messages

    return core_wire(llm._request(convert_to_messages(messages), None, kwargs), stream=stream)
