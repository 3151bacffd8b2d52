"""The SSE decoder: split bytes, split lines, both separators, comments, elisions."""

from __future__ import annotations

import pytest

from qwen_dashscope import ProtocolError
from qwen_dashscope._sse import ServerSentEvent, SSEDecoder, iter_sse
from tests._wire import Captures

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
    assert decoder.feed(b":keep-alive\n") == []
    assert decoder.feed(b"\n") == []
    assert decoder.end() == []


def test_a_partial_last_line_waits_for_its_end() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data:ab") == []
    assert decoder.feed(b"c\n\ndata:de") == [ServerSentEvent(data="abc")]
    assert decoder.end() == [ServerSentEvent(data="de")]
    assert decoder.end() == []


def test_a_long_line_is_decoded_in_linear_time() -> None:
    # 4 MB in 1 KB chunks: a decoder that re-joins its buffer on every chunk needs seconds.
    import time

    payload = b"data:" + b"x" * 4_000_000 + b"\n\n"
    started = time.process_time()
    got = list(iter_sse(payload[i : i + 1024] for i in range(0, len(payload), 1024)))
    assert len(got[0].data) == 4_000_000
    assert time.process_time() - started < 2.0  # linear: well under 0.1 s here


@pytest.mark.parametrize(
    "payload",
    [b"data:" + b"x" * 2_000 + b"\n\n", b"data:" + b"x" * 2_000, b"data:xxxx\n" * 600],
    ids=["long-line", "endless-line", "long-event"],
)
def test_lines_and_events_over_the_cap_are_protocol_errors(payload: bytes) -> None:
    decoder = SSEDecoder(max_size=1_000, request_id="rid-cap")
    with pytest.raises(ProtocolError, match="over 1000 bytes") as info:
        for i in range(0, len(payload), 100):
            decoder.feed(payload[i : i + 100])
        decoder.end()
    assert info.value.request_id == "rid-cap"


def test_invalid_utf8_is_a_protocol_error_with_the_request_id() -> None:
    decoder = SSEDecoder(request_id="rid-utf8")
    with pytest.raises(ProtocolError, match="not UTF-8") as info:
        decoder.feed(b'data:{"text":"\xff\xfe"}\n\n')
    assert info.value.request_id == "rid-utf8"


# DashScope's frames are read five lines at once when a chunk holds them whole; every other
# way of cutting the bytes goes line by line. Both must give the same events.
FRAME_EDGE_CASES = [
    b"id:1\nevent:result\n:HTTP_STATUS/200\ndata:{}\n\n",
    b"id:1\r\nevent:result\r\n:HTTP_STATUS/200\r\ndata:{}\r\n\r\n",
    b"id: 1\nevent:result\n:HTTP_STATUS/200\ndata: {}\n\n",
    b"id:1\0\nevent:result\n:HTTP_STATUS/200\ndata:{}\n\n",
    b"id:1\nevent:error\n:HTTP_STATUS/500\ndata:{}\n\n",
    b"id:1\nevent:result\n:HTTP_STATUS/200\ndata:a\ndata:b\n\n",
    b"data:x\nid:1\nevent:result\n:HTTP_STATUS/200\ndata:{}\n\n",
    b"id:1\nevent:result\n:HTTP_STATUS/200\ndata:{}\nid:2\nevent:result\n:HTTP_STATUS/200\ndata:{}\n\n",
    b":ping\n\nid:1\nevent:result\n:HTTP_STATUS/200\ndata:\xe8\xa5\xbf\xe6\xb9\x96\n\n",
]


def _one_byte_at_a_time(raw: bytes) -> list[ServerSentEvent]:
    return list(iter_sse(raw[i : i + 1] for i in range(len(raw))))


@pytest.mark.parametrize("raw", FRAME_EDGE_CASES * 2 + [b"".join(FRAME_EDGE_CASES)])
def test_whole_frames_decode_as_line_by_line(raw: bytes) -> None:
    assert list(iter_sse([raw])) == _one_byte_at_a_time(raw)


def test_captured_streams_decode_alike_however_they_are_cut(wire: Captures) -> None:
    import random

    rng = random.Random(14)
    captures = sorted(wire.folder.glob("*.sse"))
    assert captures
    for path in captures:
        raw = path.read_bytes()
        expected = _one_byte_at_a_time(raw)
        assert list(iter_sse([raw])) == expected, path.name
        for _ in range(20):
            cuts = sorted(rng.sample(range(1, len(raw)), k=min(8, len(raw) - 1)))
            pieces = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
            assert list(iter_sse(pieces)) == expected, path.name


def test_a_whole_frame_over_the_cap_is_still_refused() -> None:
    decoder = SSEDecoder(max_size=10)
    with pytest.raises(ProtocolError, match="over 10 bytes"):
        decoder.feed(b"id:1\nevent:result\n:HTTP_STATUS/200\ndata:" + b"x" * 11 + b"\n\n")


def test_invalid_utf8_in_a_whole_frame_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="not UTF-8"):
        SSEDecoder().feed(b"id:1\nevent:result\n:HTTP_STATUS/200\ndata:\xff\n\n")
