"""``python -m qwen_dashscope.testing``: run the emulator in the foreground until Ctrl-C
(or SIGTERM), optionally answering from a replies file (see ``_script``)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from ._script import RepliesFileError, ScriptedRule, install_rules, load_replies
from ._server import DashScopeEmulator

HUMAN_CHUNK_DELAY = 0.03
"""Default seconds between stream events when stdout is a terminal (a person is watching)."""

DESCRIPTION = """\
Run a local DashScope emulator: a real HTTP server on loopback that speaks the DashScope
protocol (native /api/v1 and OpenAI-compatible /compatible-mode/v1), needing no network and
no real key. It prints its URLs, then serves until Ctrl-C.

Point ChatQwen (LangChain) or Qwen (LlamaIndex) at it with two environment variables
(the port is the one it prints):

  DASHSCOPE_API_KEY=sk-emulator DASHSCOPE_HTTP_BASE_URL=http://127.0.0.1:8000/api/v1 python app.py

The key must be the one given with --api-key (default sk-emulator); with --any-key, any
non-empty key is accepted. A wrong key gets the service's InvalidApiKey error (401).

With --flavour vllm | sglang | ollama | llamacpp it is a self-hosted Qwen server instead: the
OpenAI API under /v1 in that server's dialect (reasoning field, thinking switch, tool-call
fragments, usage, errors, its probe endpoint such as Ollama's /api/version), no key needed:

  ChatQwen(model="Qwen/Qwen3-8B", base_url="http://127.0.0.1:8000/v1", backend="vllm")
"""

EPILOG = """\
replies file (--replies FILE, JSON or TOML): rules tried in order, the first match answers.

  {"rules": [
    {"contains": "天气", "tool_call": {"name": "get_weather", "arguments": {"city": "杭州"}}},
    {"contains": "天气", "after_tool": true, "text": "杭州今天晴，22°C，适合出行。"},
    {"regex": "(?i)recipe|菜谱", "text": "..."},
    {"model": "qwq-plus", "reasoning": "...", "text": "..."},
    {"contains": "限流", "error": {"status": 429, "code": "Throttling.RateQuota",
                                   "message": "Requests rate limit exceeded."}},
    {"contains": "slow", "delay": 3, "text": "..."}
  ]}

  match:  contains (substring of the last user message, case-sensitive), regex (re.search
          on it), model (exact name), tool (the request offers a tool of this name),
          after_tool (true: only the answer that follows tool results; default false: only
          a new user turn, so a tool_call rule cannot loop); a rule with no match key
          answers every new user turn. A request that forces a tool (tool_choice) skips
          text rules and rules calling other tools, as the service always calls it
  answer: text; tool_call ({"name", "arguments"}, or a list of them for parallel calls);
          reasoning (sent before the answer when the request thinks); error ({"status",
          "code", "message"}, optional "in_stream": true and "after_chunks": N); delay
          (seconds to wait before answering)

Rules apply to chat requests (text, multimodal, compatible-mode). A request no rule matches
gets the default reply, "[emulator] " followed by the last user message. An optional
"images" table says what pictures show, so multimodal embeddings and rerank of them carry
meaning: {"images": {"photos/teapot.png": "a brown clay teapot", "https://...": "..."}}
(paths relative to the replies file). Mistakes in the file
are reported with the rule (rules[N], counting from 0) and the field. TOML needs Python 3.11+
(or tomli). See examples/emulator-replies.json in the repository.
"""


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds >= 0, got {value!r}")
    return seconds


def resolve_chunk_delay(chunk_delay: float | None, *, terminal: bool) -> float:
    """``--chunk-delay``, or its default: a human pace on a terminal, no delay otherwise."""
    if chunk_delay is not None:
        return chunk_delay
    return HUMAN_CHUNK_DELAY if terminal else 0.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m qwen_dashscope.testing",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8000,
        help="port to listen on (default: %(default)s); 0 picks a free port, printed at start",
    )
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument(
        "--api-key",
        default="sk-emulator",
        metavar="KEY",
        help="the only key accepted, as 'Authorization: Bearer KEY' (default: %(default)s)",
    )
    keys.add_argument(
        "--any-key", action="store_true", help="accept any non-empty key instead of --api-key"
    )
    parser.add_argument(
        "--chunk-delay",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help=(
            f"seconds between two stream events (default: {HUMAN_CHUNK_DELAY} when stdout is a "
            "terminal, so a person sees the answer stream in; 0 otherwise: scripts, tests, CI)"
        ),
    )
    parser.add_argument(
        "--flavour",
        choices=("dashscope", "vllm", "sglang", "ollama", "llamacpp"),
        default="dashscope",
        help="the server to emulate (default: %(default)s, native + compatible mode)",
    )
    parser.add_argument(
        "--replies",
        metavar="FILE",
        help="JSON or TOML file of scripted answers (format below); default: the echo reply",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    rules: list[ScriptedRule] = []
    images: dict[str, str] = {}
    if args.replies is not None:
        try:
            rules, images = load_replies(args.replies)
        except RepliesFileError as exc:
            parser.error(str(exc))
    chunk_delay = resolve_chunk_delay(args.chunk_delay, terminal=sys.stdout.isatty())
    emulator = DashScopeEmulator(
        host=args.host,
        port=args.port,
        api_key=None if args.any_key else args.api_key,
        chunk_delay=chunk_delay,
        flavour=args.flavour,
    )
    install_rules(emulator, rules, images)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        emulator.start()
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    count = f"{len(rules)} rule{'' if len(rules) == 1 else 's'}"
    if emulator.flavour is None:
        head = (
            f"DashScope emulator: base_url={emulator.base_url} "
            f"compatible_base_url={emulator.compatible_base_url} "
            f"api_key={emulator.api_key or '*'}\n"
            f"  export DASHSCOPE_API_KEY={emulator.api_key or 'sk-emulator'} "
            f"DASHSCOPE_HTTP_BASE_URL={emulator.base_url}\n"
        )
    else:
        head = (
            f"{emulator.backend} emulator: base_url={emulator.base_url} "
            f"api_key={emulator.api_key or '(none needed)'}\n"
            f"  ChatQwen(model=..., base_url={emulator.base_url!r}, backend={emulator.backend!r})\n"
        )
    print(
        head + f"  replies: {f'{count} from {args.replies}' if args.replies else 'default'}"
        f"; chunk delay {chunk_delay:g} s; Ctrl-C stops",
        flush=True,
    )
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
