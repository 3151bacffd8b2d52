"""Errors that name the fix, on every path, against the emulator (which answers "Model not
exist." for a model it does not know): the closest known model names, and for connection
errors the host tried and the setting to change."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from llama_index.core.llms import ChatMessage

from langchain_qwen import ChatQwen
from llama_index_qwen import Qwen
from qwen_dashscope import (
    APIConnectionError,
    APITimeoutError,
    AsyncDashScopeClient,
    BadRequestError,
    DashScopeClient,
    NotFoundError,
)
from qwen_dashscope._errors import explain_unknown_model
from qwen_dashscope.testing import DashScopeEmulator, Reply

MISSPELLED = "qwen-trubo"
HINT = "(model='qwen-trubo': did you mean 'qwen-turbo'"
MESSAGES = [{"role": "user", "content": "你好"}]


def _connection(emu: DashScopeEmulator) -> dict[str, Any]:
    return {"api_key": emu.api_key, "base_url": emu.base_url, "max_retries": 0}


def _check(error: BaseException) -> None:
    assert isinstance(error, BadRequestError)
    assert str(error).startswith("400 InvalidParameter: Model not exist. " + HINT)


async def test_core_sync_and_async_stream_and_not(emulator: DashScopeEmulator) -> None:
    client = DashScopeClient(**_connection(emulator))
    with pytest.raises(BadRequestError) as info:
        client.generate(MISSPELLED, MESSAGES)
    _check(info.value)
    with pytest.raises(BadRequestError) as info:
        list(client.stream(MISSPELLED, MESSAGES))
    _check(info.value)
    aclient = AsyncDashScopeClient(**_connection(emulator))
    with pytest.raises(BadRequestError) as info:
        await aclient.generate(MISSPELLED, MESSAGES)
    _check(info.value)
    with pytest.raises(BadRequestError) as info:
        async for _ in aclient.stream(MISSPELLED, MESSAGES):
            pass
    _check(info.value)
    with pytest.raises(BadRequestError) as info:
        client.embed(["茄子"], model="text-embeding-v4")
    assert "did you mean 'text-embedding-v4'" in str(info.value)


async def test_langchain_every_path(emulator: DashScopeEmulator) -> None:
    llm = ChatQwen(model=MISSPELLED, **_connection(emulator))
    for call in (llm.invoke, lambda m: list(llm.stream(m))):
        with pytest.raises(BadRequestError) as info:
            call([HumanMessage("你好")])
        _check(info.value)
    with pytest.raises(BadRequestError) as info:
        await llm.ainvoke("你好")
    _check(info.value)
    with pytest.raises(BadRequestError) as info:
        async for _ in llm.astream("你好"):
            pass
    _check(info.value)


async def test_llama_index_every_path(emulator: DashScopeEmulator) -> None:
    with pytest.warns(UserWarning, match="did you mean 'qwen-turbo'"):  # the metadata warning
        llm = Qwen(model=MISSPELLED, **_connection(emulator))
        llm.metadata  # noqa: B018
    messages = [ChatMessage(role="user", content="你好")]
    for call in (llm.chat, lambda m: list(llm.stream_chat(m))):
        with pytest.raises(BadRequestError) as info:
            call(messages)
        _check(info.value)
    with pytest.raises(BadRequestError) as info:
        await llm.achat(messages)
    _check(info.value)
    with pytest.raises(BadRequestError) as info:
        async for _ in await llm.astream_chat(messages):
            pass
    _check(info.value)


def test_a_known_model_elsewhere_and_other_errors(emulator: DashScopeEmulator) -> None:
    client = DashScopeClient(**_connection(emulator))
    # a name the table knows: the region (and the host tried) is what to check
    emulator.enqueue(Reply.error(400, "InvalidParameter", "Model not exist."))
    with pytest.raises(BadRequestError) as info:
        client.generate("qwen-plus", MESSAGES)
    assert "'qwen-plus' is a Qwen model, but not one this key can use at 127.0.0.1" in str(
        info.value
    )
    assert "check region=" in str(info.value)
    # other 400s are left alone
    emulator.enqueue(
        Reply.error(400, "InvalidParameter", "Range of max_tokens should be [1, 8192]")
    )
    with pytest.raises(BadRequestError) as info:
        client.generate("qwen-plus", MESSAGES)
    assert "model=" not in str(info.value)


def test_a_404_model_not_found() -> None:
    message = "The model `qwen3-maxx` does not exist or you do not have access to it."
    error = NotFoundError(message, status_code=404, code="ModelNotFound")
    explain_unknown_model(error, "qwen3-maxx")
    assert str(error).startswith(f"404 ModelNotFound: {message} (model='qwen3-maxx': did you mean")
    assert "'qwen3-max'" in str(error)


def test_explain_unknown_model_without_a_close_name() -> None:
    error = NotFoundError("Model can not be found.", status_code=404, code="model_not_found")
    explain_unknown_model(error, "zzzz")
    explain_unknown_model(error, "zzzz")  # once only
    assert str(error) == (
        "404 model_not_found: Model can not be found. (model='zzzz': not a name in "
        "qwen_dashscope.KNOWN_MODELS; check the Model Studio model list)"
    )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_connection_error_names_the_host_and_the_setting() -> None:
    base_url = f"http://127.0.0.1:{_closed_port()}/api/v1"
    client = DashScopeClient(api_key="sk-test", base_url=base_url, max_retries=0)
    with pytest.raises(APIConnectionError) as info:
        client.generate("qwen-plus", MESSAGES)
    assert not isinstance(info.value, APITimeoutError)
    assert "(while talking to 127.0.0.1; check base_url / region and your network)" in str(
        info.value
    )


def test_a_timeout_names_the_host_and_the_setting(emulator: DashScopeEmulator) -> None:
    emulator.enqueue(Reply.delay(2.0))
    client = DashScopeClient(**_connection(emulator), timeout=(1.0, 0.2))
    with pytest.raises(APITimeoutError) as info:
        client.generate("qwen-plus", MESSAGES)
    assert "while talking to 127.0.0.1" in str(info.value)
    assert "raise timeout= if the model needs longer" in str(info.value)


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_a_timeout_the_total_deadline_set_names_total(
    emulator: DashScopeEmulator, sync: bool
) -> None:
    """The read timeout was cut to what was left of ``total``: the error names ``total``, the
    setting to raise, not httpx's ReadTimeout (and a longer read timeout alone stays read)."""
    from qwen_dashscope import AsyncDashScopeClient, Timeouts

    emulator.enqueue(Reply.delay(2.0))
    timeouts = Timeouts(connect=1.0, read=30.0, total=0.3)
    with pytest.raises(APITimeoutError) as info:
        if sync:
            DashScopeClient(**_connection(emulator), timeout=timeouts).generate(
                "qwen-plus", MESSAGES
            )
        else:

            async def call() -> None:
                async with AsyncDashScopeClient(**_connection(emulator), timeout=timeouts) as c:
                    await c.generate("qwen-plus", MESSAGES)

            asyncio.run(call())
    assert "exceeded its total timeout of 0.3s (Timeouts(total=...))" in str(info.value)
    assert "ReadTimeout" not in str(info.value)
