"""Replies files (``--replies FILE``): the loader, its error messages, and the rules it installs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from qwen_dashscope.testing import DashScopeEmulator, Reply, ToolCall, _script
from qwen_dashscope.testing import __main__ as cli
from qwen_dashscope.testing._script import RepliesFileError, install_rules, load_rules, parse_rules

from ._helpers import TEXT_PATH, chat

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "emulator-replies.json"


def write(tmp_path: Path, data: Any, name: str = "replies.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_every_kind_of_answer_maps_onto_reply() -> None:
    rules = parse_rules(
        {
            "rules": [
                {"contains": "菜", "text": "红烧茄子"},
                {
                    "regex": "天气",
                    "text": "我查一下。",
                    "reasoning": "需要调用工具",
                    "tool_call": [
                        {"name": "get_weather", "arguments": {"city": "杭州"}},
                        {"name": "get_time"},
                    ],
                },
                {"model": "qwq-plus", "reasoning": "想一想", "text": "好"},
                {"contains": "慢", "delay": 1.5},
                {
                    "contains": "坏",
                    "delay": 0,
                    "error": {
                        "status": 500,
                        "code": "InternalError",
                        "message": "boom",
                        "in_stream": True,
                        "after_chunks": 2,
                    },
                },
                {"after_tool": True, "text": "根据工具结果：晴"},
            ]
        }
    )
    replies = [rule.reply for rule in rules]
    assert replies == [
        Reply.text("红烧茄子"),
        Reply.tool_calls(
            [ToolCall("get_weather", {"city": "杭州"}), ToolCall("get_time", {})],
            content="我查一下。",
            reasoning="需要调用工具",
        ),
        Reply.text("好", reasoning="想一想"),
        Reply.delay(1.5),
        Reply.error(500, "InternalError", "boom", in_stream=True, after_chunks=2),
        Reply.text("根据工具结果：晴"),
    ]
    assert [rule.index for rule in rules] == list(range(6))
    assert rules[1].regex is not None and rules[1].regex.pattern == "天气"
    assert (rules[2].model, rules[5].after_tool) == ("qwq-plus", True)


def test_a_bare_list_is_accepted() -> None:
    assert parse_rules([{"text": "hi"}])[0].reply == Reply.text("hi")


def test_the_example_file_loads() -> None:
    rules = load_rules(EXAMPLE)
    kinds = {rule.reply.kind for rule in rules}
    assert kinds == {"text", "tool_calls", "error"}
    assert any(rule.reply.reasoning for rule in rules)
    assert any(rule.reply.delay_seconds for rule in rules)
    assert any(rule.after_tool for rule in rules)


def test_toml(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[rules]]\ncontains = "天气"\n[rules.tool_call]\nname = "get_weather"\n'
        'arguments = { city = "杭州" }\n\n[[rules]]\nregex = "^hi"\ntext = "hello"\n',
        "replies.toml",
    )
    rules = load_rules(path)
    assert [r.reply for r in rules] == [
        Reply.tool_calls([ToolCall("get_weather", {"city": "杭州"})]),
        Reply.text("hello"),
    ]


def test_toml_without_a_parser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Python 3.10 without tomli: the module is missing.
    monkeypatch.setattr(_script, "TOML_MODULE", "tomli")
    monkeypatch.setitem(sys.modules, "tomli", None)
    path = write(tmp_path, '[[rules]]\ntext = "hi"\n', "replies.toml")
    with pytest.raises(RepliesFileError, match=r"Python 3\.11\+ .*pip install tomli.*JSON"):
        load_rules(path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rule": []}, 'unknown top-level key "rule"'),
        ({}, 'no "rules" list'),
        ({"rules": {"text": "hi"}}, '"rules" must be a list, got an object'),
        ([3], "rules[0]: must be an object, got a number"),
        ([{"text": "a"}, {"contain": "x", "text": "b"}], "rules[1].contain: unknown key"),
        ([{"contains": "x"}], "rules[0]: needs an answer: one of text, tool_call"),
        ([{"contains": "", "text": "a"}], "rules[0].contains: must not be empty"),
        ([{"contains": 5, "text": "a"}], "rules[0].contains: must be a string, got a number"),
        ([{"regex": "(", "text": "a"}], "rules[0].regex: not a valid regular expression"),
        ([{"model": ["qwen-plus"], "text": "a"}], "rules[0].model: must be a string, got a list"),
        ([{"after_tool": "yes", "text": "a"}], "rules[0].after_tool: must be true or false"),
        ([{"text": None}], "rules[0].text: must be a string, got null"),
        ([{"reasoning": "hmm"}], 'rules[0].reasoning: needs a "text" or "tool_call"'),
        ([{"text": "a", "delay": -1}], "rules[0].delay: must be >= 0 seconds, got -1"),
        ([{"text": "a", "delay": True}], "rules[0].delay: must be a number of seconds"),
        ([{"tool_call": "get_weather"}], "rules[0].tool_call: must be an object, got a string"),
        ([{"tool_call": []}], "rules[0].tool_call: must name at least one call"),
        ([{"tool_call": {"arguments": {}}}], 'rules[0].tool_call: needs a "name"'),
        ([{"tool_call": {"name": ""}}], "rules[0].tool_call.name: must not be empty"),
        (
            [{"tool_call": [{"name": "f"}, {"name": "g", "arguments": "{}"}]}],
            "rules[0].tool_call[1].arguments: must be an object, got a string",
        ),
        ([{"tool_call": {"name": "f", "args": {}}}], "rules[0].tool_call.args: unknown key"),
        ([{"error": 429}], "rules[0].error: must be an object, got a number"),
        ([{"error": {"status": 429, "code": "X"}}], 'rules[0].error: needs "status", "code"'),
        (
            [{"error": {"status": 200, "code": "X", "message": "m"}}],
            "rules[0].error.status: must be between 400 and 599, got 200",
        ),
        (
            [{"error": {"status": "429", "code": "X", "message": "m"}}],
            "rules[0].error.status: must be an integer, got a string",
        ),
        (
            [{"error": {"status": 429, "code": "", "message": "m"}}],
            "rules[0].error.code: must not be empty",
        ),
        (
            [{"error": {"status": 500, "code": "X", "message": "m", "in_stream": 1}}],
            "rules[0].error.in_stream: must be true or false, got a number",
        ),
        (
            [{"error": {"status": 500, "code": "X", "message": "m", "after_chunks": 2}}],
            'rules[0].error.after_chunks: needs "in_stream": true',
        ),
        (
            [{"error": {"status": 500, "code": "X", "message": "m", "retry": True}}],
            "rules[0].error.retry: unknown key",
        ),
        (
            [{"text": "a", "error": {"status": 500, "code": "X", "message": "m"}}],
            'rules[0].text: cannot be combined with "error"',
        ),
    ],
)
def test_bad_files_name_the_rule_and_the_field(tmp_path: Path, data: Any, message: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(RepliesFileError) as info:
        load_rules(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("replies.json", '{"rules": [', "not valid JSON: Expecting value (line 1, column 12)"),
        ("replies.toml", "[[rules]\n", "not valid TOML"),
        ("replies.json", b"\xff\xfe", "cannot read the replies file"),
    ],
)
def test_unparsable_files(tmp_path: Path, name: str, text: str | bytes, message: str) -> None:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(RepliesFileError) as info:
        load_rules(path)
    assert message in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RepliesFileError, match="cannot read the replies file"):
        load_rules(tmp_path / "nope.json")


def answer(client: httpx.Client, body: dict[str, Any]) -> str:
    response = client.post(TEXT_PATH, json=body)
    assert response.status_code == 200, response.text
    content: str = response.json()["output"]["choices"][0]["message"]["content"]
    return content


def test_installed_rules_match_text_model_and_tool_turns(
    emulator: DashScopeEmulator, client: httpx.Client
) -> None:
    install_rules(
        emulator,
        parse_rules(
            [
                {"contains": "天气", "model": "qwen-max", "text": "max 的回答"},
                {"regex": "(?i)^hello", "text": "Hello!"},
                {"contains": "天气", "after_tool": True, "text": "晴"},
                {"contains": "天气", "text": "plus 的回答"},
            ]
        ),
    )
    assert answer(client, chat("杭州天气", model="qwen-max", result_format="message")) == (
        "max 的回答"
    )
    assert answer(client, chat("杭州天气", result_format="message")) == "plus 的回答"
    assert answer(client, chat("HELLO there", result_format="message")) == "Hello!"
    assert answer(client, chat("say hello", result_format="message")) == "[emulator] say hello"
    after_tool = chat("杭州天气", result_format="message")
    after_tool["input"]["messages"] += [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "content": "晴 22°C", "tool_call_id": "call_1"},
    ]
    assert answer(client, after_tool) == "晴"


def test_rules_ignore_embeddings(emulator: DashScopeEmulator, client: httpx.Client) -> None:
    install_rules(emulator, parse_rules([{"error": {"status": 500, "code": "X", "message": "m"}}]))
    response = client.post(
        "/api/v1/services/embeddings/text-embedding/text-embedding",
        json={"model": "text-embedding-v4", "input": {"texts": ["茄子"]}},
    )
    assert response.status_code == 200
    assert client.post(TEXT_PATH, json=chat()).status_code == 500


def test_cli_rejects_a_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, [{"contains": "x", "tool_call": {"name": "f", "arguments": []}}])
    with pytest.raises(SystemExit) as info:
        cli.main(["--port", "0", "--replies", str(path)])
    assert info.value.code == 2
    assert "rules[0].tool_call.arguments: must be an object, got a list" in capsys.readouterr().err


def test_cli_help_names_the_key_and_the_environment(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps to the terminal width
    for needle in (
        "--replies FILE",
        "--chunk-delay SECONDS",
        "--any-key",
        "0 picks a free port",
        "default: sk-emulator",
        "when stdout is a terminal",
        "DASHSCOPE_API_KEY=sk-emulator DASHSCOPE_HTTP_BASE_URL=http://127.0.0.1:8000/api/v1",
    ):
        assert needle in out


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "soon"])
def test_cli_rejects_a_bad_chunk_delay(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--chunk-delay", value])
    assert "--chunk-delay" in capsys.readouterr().err


def test_chunk_delay_default_is_a_human_pace_on_a_terminal_only() -> None:
    assert cli.resolve_chunk_delay(None, terminal=True) == cli.HUMAN_CHUNK_DELAY > 0
    assert cli.resolve_chunk_delay(None, terminal=False) == 0.0
    assert cli.resolve_chunk_delay(0.5, terminal=False) == 0.5
    assert cli.resolve_chunk_delay(0.0, terminal=True) == 0.0


RECIPE_TOOL = {
    "type": "function",
    "function": {
        "name": "Recipe",
        "parameters": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "minutes": {"type": "integer"}},
            "required": ["name", "minutes"],
        },
    },
}
FORCE_RECIPE = {"type": "function", "function": {"name": "Recipe"}}


def message(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(TEXT_PATH, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["output"]["choices"][0]["message"]
    return result


def test_apply_replies_takes_a_path_or_the_data(
    emulator: DashScopeEmulator, client: httpx.Client, tmp_path: Path
) -> None:
    from qwen_dashscope.testing import apply_replies

    rules = apply_replies(emulator, EXAMPLE)
    assert len(rules) == len(load_rules(EXAMPLE))
    assert "萝卜" in answer(client, chat("萝卜怎么做？", result_format="message"))
    emulator.reset()
    path = write(tmp_path, {"rules": [{"contains": "hi", "text": "hello"}]})
    assert [r.reply for r in apply_replies(emulator, str(path))] == [Reply.text("hello")]
    apply_replies(emulator, [{"contains": "bye", "text": "再见"}])  # parsed data, added after
    assert answer(client, chat("hi", result_format="message")) == "hello"
    assert answer(client, chat("bye", result_format="message")) == "再见"
    with pytest.raises(RepliesFileError, match=r"replies: rules\[0\]\.text"):
        apply_replies(emulator, [{"text": 1}])


def test_a_forced_tool_skips_text_rules_and_other_tools(
    emulator: DashScopeEmulator, client: httpx.Client
) -> None:
    install_rules(
        emulator,
        parse_rules(
            [
                {"contains": "茄子", "text": "红烧茄子的做法……"},
                {"contains": "茄子", "tool_call": {"name": "get_price", "arguments": {}}},
                {
                    "contains": "茄子",
                    "tool": "Recipe",
                    "tool_call": {
                        "name": "Recipe",
                        "arguments": {"name": "红烧茄子", "minutes": 20},
                    },
                },
            ]
        ),
    )
    forced = chat("茄子怎么做", result_format="message", tools=[RECIPE_TOOL])
    forced["parameters"]["tool_choice"] = FORCE_RECIPE
    call = message(client, forced)["tool_calls"][0]["function"]
    assert (call["name"], json.loads(call["arguments"])) == (
        "Recipe",
        {"name": "红烧茄子", "minutes": 20},
    )
    # without the forcing, the first rule answers; "required": a rule calling an offered tool
    plain = chat("茄子怎么做", result_format="message", tools=[RECIPE_TOOL])
    assert message(client, plain)["content"] == "红烧茄子的做法……"
    plain["parameters"]["tool_choice"] = "required"
    assert message(client, plain)["tool_calls"][0]["function"]["name"] == "Recipe"
    # no rule fits: the default reply calls the forced tool with schema-made arguments
    emulator.reset()
    install_rules(emulator, parse_rules([{"contains": "茄子", "text": "红烧茄子的做法……"}]))
    call = message(client, forced)["tool_calls"][0]["function"]
    assert call["name"] == "Recipe" and json.loads(call["arguments"])["minutes"] == 1


def test_the_tool_key_needs_the_tool_offered(
    emulator: DashScopeEmulator, client: httpx.Client
) -> None:
    install_rules(emulator, parse_rules([{"tool": "Recipe", "text": "有菜谱工具"}]))
    assert message(client, chat("hi", result_format="message"))["content"] == "[emulator] hi"
    with_tool = chat("hi", result_format="message", tools=[RECIPE_TOOL])
    assert message(client, with_tool)["content"] == "有菜谱工具"
    with pytest.raises(RepliesFileError, match=r"rules\[0\]\.tool: must be a string"):
        parse_rules([{"tool": ["Recipe"], "text": "x"}])


def test_a_replies_file_describes_images_relative_to_itself(tmp_path: Path) -> None:
    from qwen_dashscope.testing import DashScopeEmulator, apply_replies
    from qwen_dashscope.testing._retrieval import media_key

    (tmp_path / "pics").mkdir()
    (tmp_path / "pics" / "cat.png").write_bytes(b"not really a png")
    replies = tmp_path / "replies.json"
    replies.write_text(
        '{"rules": [], "images": {"pics/cat.png": "a cat", "https://x/dog.png": "a dog"}}',
        encoding="utf-8",
    )
    emu = DashScopeEmulator()
    apply_replies(emu, replies)
    assert emu.image_captions[media_key(b"not really a png")] == "a cat"
    assert emu.image_captions["https://x/dog.png"] == "a dog"
    replies.write_text('{"rules": [], "images": {"pics/none.png": "?"}}', encoding="utf-8")
    with pytest.raises(RepliesFileError, match=r'images\["pics/none.png"\]: no such file'):
        apply_replies(emu, replies)
    with pytest.raises(RepliesFileError, match="non-empty caption"):
        apply_replies(emu, {"rules": [], "images": {"https://x/a.png": ""}})
