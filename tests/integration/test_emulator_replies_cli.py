"""``python -m qwen_dashscope.testing --port 0 --replies FILE`` as a user runs it: a subprocess
that prints its URL and answers from the file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

RULES = {
    "rules": [
        {"contains": "茄子", "text": "鱼香茄子：茄子切条，先煎后烧。"},
        {"contains": "天气", "tool_call": {"name": "get_weather", "arguments": {"city": "杭州"}}},
    ]
}


def test_scripted_answers_from_a_replies_file(tmp_path: Path) -> None:
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps(RULES, ensure_ascii=False), encoding="utf-8")
    command = [sys.executable, "-m", "qwen_dashscope.testing", "--port", "0"]
    with subprocess.Popen(
        [*command, "--replies", str(replies)],
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as process:
        try:
            assert process.stdout is not None
            banner = [process.stdout.readline() for _ in range(3)]
            base_url = banner[0].split("base_url=")[1].split()[0]
            assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/api/v1")
            assert f"DASHSCOPE_HTTP_BASE_URL={base_url}" in banner[1]
            assert f"2 rules from {replies}; chunk delay 0 s" in banner[2]  # stdout: a pipe
            with httpx.Client(
                base_url=base_url, headers={"Authorization": "Bearer sk-emulator"}, timeout=10
            ) as http:
                path = "/services/aigc/text-generation/generation"

                def ask(text: str) -> dict[str, object]:
                    body = {
                        "model": "qwen-plus",
                        "input": {"messages": [{"role": "user", "content": text}]},
                        "parameters": {"result_format": "message"},
                    }
                    response = http.post(path, json=body)
                    assert response.status_code == 200, response.text
                    message: dict[str, object] = response.json()["output"]["choices"][0]["message"]
                    return message

                assert ask("茄子怎么做？")["content"] == "鱼香茄子：茄子切条，先煎后烧。"
                call = ask("杭州天气")["tool_calls"][0]  # type: ignore[index]
                assert call["function"]["name"] == "get_weather"
                assert json.loads(call["function"]["arguments"]) == {"city": "杭州"}
                assert ask("你好")["content"] == "[emulator] 你好"
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
