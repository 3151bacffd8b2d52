"""The SSE decoder: split bytes, split lines, both separators, comments, elisions."""

from __future__ import annotations

import pytest

from qwen_dashscope._sse import LineDecoder, ServerSentEvent, SSEDecoder, iter_sse

FRAMED = (
    'id:1\nevent:result\n:HTTP_STATUS/200\ndata:{"output":{"text":"你好"}}\n\n'
    'id:2\nevent:result\n:HTTP_STATUS/200\ndata:{"output":{"text":"世界"}}\n\n'
).encode()
UNSEPARATED = FRAMED.replace(b"\n\n", b"\n")


def events(data: bytes, size: int) -> list[ServerSentEvent]:
    return list(iter_sse(data[i : i + size] for i in range(0, len(data), size)))


@pytest.mark.parametrize("payload", [FRAMED, UNSEPARATED], ids=["blank-lines", "no-blank-lines"])
@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64, 10_000])
def test_chunking_never_changes_the_events(payload: bytes, size: int) -> None:
    got = events(payload, size)
    assert got == [
        ServerSentEvent(event="result", data='{"output":{"text":"你好"}}', id="1", status=200),
        ServerSentEvent(event="result", data='{"output":{"text":"世界"}}', id="2", status=200),
    ]


def test_a_chunk_boundary_inside_a_multibyte_character() -> None:
    text = "萝卜土豆茄子".encode()
    assert len(text) == 18
    data = b"data:" + text + b"\n\n"
    # cut after the first byte of the 2nd character
    cut = len(b"data:") + 4
    got = list(iter_sse([data[:cut], data[cut:]]))
    assert got == [ServerSentEvent(event="message", data="萝卜土豆茄子")]


def test_crlf_line_endings() -> None:
    got = list(iter_sse([b"event:result\r\ndata:x\r\n\r\n"]))
    assert got == [ServerSentEvent(event="result", data="x")]


def test_error_event_carries_the_status_comment() -> None:
    raw = b'id:1\nevent:error\n:HTTP_STATUS/400\ndata:{"code":"InvalidParameter"}\n\n'
    (event,) = iter_sse([raw])
    assert event.event == "error"
    assert event.status == 400


def test_documentation_elision_lines_are_ignored() -> None:
    raw = b"id:1\nevent:result\ndata:a\n\n......\n\nid:9\nevent:result\ndata:b\n\n"
    assert [e.data for e in iter_sse([raw])] == ["a", "b"]


def test_last_event_without_trailing_newline_is_dispatched() -> None:
    assert [e.data for e in iter_sse([b"data:a\n\ndata:b"])] == ["a", "b"]


def test_compatible_mode_framing_with_space_after_colon() -> None:
    raw = b'data: {"x":1}\n\ndata: [DONE]\n\n'
    assert [e.data for e in iter_sse([raw])] == ['{"x":1}', "[DONE]"]


def test_multi_line_data_is_joined_per_the_sse_spec() -> None:
    raw = b"data:a\ndata:b\n\n"
    assert [e.data for e in iter_sse([raw])] == ["a\nb"]


def test_comment_only_block_dispatches_nothing() -> None:
    decoder = SSEDecoder()
    assert decoder.decode(":keep-alive") == []
    assert decoder.decode("") == []


def test_line_decoder_keeps_partial_lines() -> None:
    lines = LineDecoder()
    assert lines.feed(b"ab") == []
    assert lines.feed(b"c\nde") == ["abc"]
    assert lines.flush() == ["de"]
    assert lines.flush() == []
