"""Every ```python block of the README, run against the emulator as the README says to start
it: scripted by ``examples/emulator-replies.json`` (the command line's ``--replies``), with
``DASHSCOPE_API_KEY`` / ``DASHSCOPE_HTTP_BASE_URL`` pointing at it. No test adds rules of its
own: what a reader sees offline is what these tests check, and none of it is the emulator's
echo. (The self-hosted section runs against the emulator's vLLM and Ollama flavours; the Ray
example in tests/scale.)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from llama_index.core import Settings

from qwen_dashscope.testing import DashScopeEmulator, apply_replies
from tests._readme import REPLIES, ROOT, blocks, run, section, sections, unmarked_blocks
from tests._readme import text as readme_text

# Third-party warnings of the agent stack (see tests/integration/llama_index/): llama-index-
# workflows 2.26 + pydantic 2.14; langchain-core's beta warning for `loads`.
pytestmark = [
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince20"),
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince211"),
    pytest.mark.filterwarnings("ignore:is_running called from within a step:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The function `loads` is in beta"),
]

TESTED = {
    "try offline",
    "langchain quickstart",
    "llama-index quickstart",
    "rerank quickstart",
    "multimodal-embeddings quickstart",
    "bulk jobs",
    "self-hosted",
    "configuration",
    "errors",
    "client",
    "emulator",
    "offline testing",
    "migration",
}
ECHO = "[emulator]"  # the emulator's answer to a prompt no rule matches


@pytest.fixture
def readme(emulator_env: DashScopeEmulator) -> Iterator[DashScopeEmulator]:
    """The emulator as the README starts it, with LlamaIndex's global Settings restored."""
    apply_replies(emulator_env, REPLIES)
    saved = (Settings._llm, Settings._embed_model)
    yield emulator_env
    for model in (Settings._llm, Settings._embed_model):
        if model is not None and model not in saved and hasattr(model, "close"):
            model.close()
    Settings._llm, Settings._embed_model = saved


def _generations(emu: DashScopeEmulator) -> list[Any]:
    return [r for r in emu.requests if r.endpoint.endswith("generation")]


def test_every_python_block_is_in_a_tested_section() -> None:
    assert unmarked_blocks() == []
    assert set(sections()) == TESTED
    assert all(blocks(name) for name in TESTED - {"offline testing"}) and blocks("offline testing")


def test_try_it_without_a_key(
    readme: DashScopeEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    text = section("try offline")
    assert (
        "python -m qwen_dashscope.testing --port 8000 --replies examples/emulator-replies.json"
        in text
    )
    assert f"export DASHSCOPE_API_KEY={readme.api_key}" in text
    assert "export DASHSCOPE_HTTP_BASE_URL=http://127.0.0.1:8000/api/v1" in text
    [code] = blocks("try offline")
    run(code.replace("http://127.0.0.1:8000/api/v1", readme.base_url))
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("推荐一道家常的「萝卜土豆烧茄子」")
    assert out[1].startswith("土豆原产于南美安第斯山区")


def test_langchain_quickstart(
    readme: DashScopeEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code = "\n".join(blocks("langchain quickstart"))
    for needle in (".stream(", ".invoke(", "ainvoke", "astream", "bind_tools",
                   "with_structured_output", "enable_thinking=True", '"type": "image"',
                   "QwenEmbeddings", "loads(", "configurable_fields"):  # fmt: skip
        assert needle in code, needle
    run(blocks("langchain quickstart"))
    out = capsys.readouterr().out

    assert ECHO not in out
    assert "推荐一道家常的「萝卜土豆烧茄子」" in out  # streamed
    assert "杭州是浙江省省会" in out
    assert "'input_token_details': {'cache_read': 0}" in out
    assert "水光潋滟晴方好" in out
    assert "萝卜水分多" in out and "茄子热量很低" in out  # abatch
    assert "'args': {'city': '杭州'}" in out and "'args': {'city': '上海'}" in out
    assert "name='萝卜土豆烧茄子' ingredients=['白萝卜'" in out
    assert "要比较 9.11 和 9.9" in out and "['reasoning', 'text']" in out
    assert "夕阳下的海滩上" in out
    assert "3 512" in out
    assert "qwen-plus 0.2" in out  # serialization round trip
    assert out.rstrip().endswith("qwen-max")  # configurable_fields

    generations = _generations(readme)
    assert generations[0].model == "qwen-turbo" and generations[0].stream
    assert generations[0].parameters["temperature"] == 0.7
    assert any(r.endpoint == "multimodal-generation" for r in generations)
    thinking = [r for r in generations if r.parameters.get("enable_thinking")]
    assert thinking and not thinking[0].stream
    assert generations[-1].model == "qwen-max"


def test_llama_index_quickstart(
    readme: DashScopeEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code = "\n".join(blocks("llama-index quickstart"))
    for needle in ("stream_complete", "FunctionAgent", "QwenEmbedding", "structured_predict"):
        assert needle in code
    run(blocks("llama-index quickstart"))
    out = capsys.readouterr().out

    assert ECHO not in out
    assert "杭州是浙江省省会" in out
    assert "'prompt_tokens':" in out and "'completion_tokens':" in out
    assert "Willows touch the lake / ripples carry the spring light / a boat drifts home" in out
    assert "It is sunny and 25°C in Hangzhou" in out
    assert "Only in the region where it was created" in out
    assert "name='Hangzhou' province='Zhejiang'" in out
    generations = _generations(readme)
    after_tool = [r for r in generations if r.messages[-1]["role"] == "tool"]
    assert after_tool[0].messages[-1]["content"] == "Sunny, 25°C in Hangzhou"
    rag = next(r for r in generations if "Where does my API key work?" in r.last_user_text)
    assert "only work in the region" in rag.last_user_text  # the relevant document was retrieved


def test_rerank_section(readme: DashScopeEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    code = "\n".join(blocks("rerank quickstart"))
    assert "ContextualCompressionRetriever" in code and "node_postprocessors" in code
    for block in blocks("rerank quickstart"):
        run(block)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("warranty.md ") and out[1].startswith("claims.md ")
    assert out[2].startswith("[('warranty.md', ")
    assert [r.endpoint for r in readme.requests].count("compat-rerank") == 2
    answer = next(r for r in _generations(readme) if "TeaBot warranty" in r.last_user_text)
    assert "lasts two years" in answer.last_user_text  # the reranked node reached the prompt


def test_multimodal_embeddings_section(
    readme: DashScopeEmulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code = "\n".join(blocks("multimodal-embeddings quickstart"))
    assert "embed_image" in code and "MultiModalVectorStoreIndex" in code
    monkeypatch.chdir(ROOT)  # the README's image paths are relative to the repository
    for block in blocks("multimodal-embeddings quickstart"):
        run(block)  # the replies file says what the two pictures show
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "tests/fixtures/images/teapot.png"
    assert out[1].startswith("tests/fixtures/images/mountain.png ")


def test_bulk_jobs_section(
    readme: DashScopeEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QWEN_DASHSCOPE_JOBS_DIR", str(tmp_path))
    in_process, batch_api, ray_data = blocks("bulk jobs")
    compile(ray_data, "README.md", "exec")  # run for real by tests/scale (it needs Ray)
    namespace = run([in_process, batch_api])
    messages, results = namespace["messages"], namespace["results"]
    assert [m.content for m in messages] == ["positive", "negative", "positive"]
    assert [m.content for m in results] == [m.content for m in messages]
    assert namespace["same"].id == namespace["job"].id
    assert readme.batches.calls.count(("POST", "/compatible-mode/v1/batches")) == 1


def test_self_hosted_section(
    flavoured: Callable[[str], DashScopeEmulator], capsys: pytest.CaptureFixture[str]
) -> None:
    """Its URLs are replaced by the flavours' (a random port, so the backend is said, as it
    would be inferred from the real default ports)."""
    [code] = blocks("self-hosted")
    vllm, ollama = flavoured("vllm"), flavoured("ollama")
    code = code.replace('base_url="http://localhost:8000/v1"', f'base_url="{vllm.base_url}"')
    code = code.replace(
        'base_url="http://localhost:11434/v1"', f'base_url="{ollama.base_url}", backend="ollama"'
    )
    run(code)
    lines = capsys.readouterr().out.splitlines()
    assert "The user wrote" in lines[0]  # reasoning (the emulator's default for Qwen3)
    assert "total_tokens" in lines[1]
    assert lines[2] == "[emulator] Say hi"
    assert lines[3] == "256"
    assert ollama.requests[-1].parameters["reasoning_effort"] == "none"
    assert vllm.requests[0].parameters["chat_template_kwargs"] == {"enable_thinking": True}
    query = vllm.requests[-1].body or {}
    assert query["input"][0].startswith("Instruct: Given a web search query")
    text = section("self-hosted")
    for command in (
        "vllm serve Qwen/Qwen3-8B --reasoning-parser qwen3 --enable-auto-tool-choice "
        "--tool-call-parser hermes",
        "python3 -m sglang.launch_server --model-path Qwen/Qwen3-32B-FP8 --tp 1 --port 8000 "
        "--reasoning-parser qwen3 --tool-call-parser qwen25",
        "ollama pull qwen3:8b",
        "llama-server -hf unsloth/Qwen3-8B-GGUF:Q4_K_M --jinja --reasoning-format deepseek",
        "vllm serve Qwen/Qwen3-Embedding-0.6B --runner pooling",
    ):
        assert command in text


def test_configuration_section(
    readme: DashScopeEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    [code] = blocks("configuration")
    region = 'region="singapore",'
    assert region in code
    namespace = run(
        code.replace(region, "base_url=os.environ['DASHSCOPE_HTTP_BASE_URL'],"), {"os": os}
    )
    assert capsys.readouterr().out.startswith("你好！我是通义千问")
    assert namespace["llm"].max_retries == 4
    from qwen_dashscope import ClientSettings

    as_written = run(code.replace('print(llm.invoke("Hello").content)', ""))["llm"]
    settings = ClientSettings.resolve(**as_written._connection())
    assert settings.base_url == "https://dashscope-intl.aliyuncs.com/api/v1"  # not the env's
    assert (settings.timeouts.connect, settings.timeouts.read, settings.timeouts.total) == (
        5,
        60,
        120,
    )


def test_errors_section(readme: DashScopeEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    [code] = blocks("errors")
    run(code)
    out = capsys.readouterr().out
    assert out.startswith("400 InvalidParameter Model not exist.")
    assert "did you mean 'qwen-turbo'" in out
    chapter = readme_text().split("## Errors")[1].split("\n## ")[0]
    import qwen_dashscope

    tree = [
        name
        for name in dir(qwen_dashscope)
        if isinstance(getattr(qwen_dashscope, name), type)
        and issubclass(getattr(qwen_dashscope, name), qwen_dashscope.DashScopeError)
    ]
    assert len(tree) >= 13
    for name in tree:  # every error class has its row (what to do) and its place in the tree
        assert f"| `{name}`" in chapter and re.search(rf"(── |^){name}\b", chapter, re.M), name


def test_client_section(readme: DashScopeEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    [code] = blocks("client")
    namespace = run(code)
    out = capsys.readouterr().out
    assert ECHO not in out
    assert out.startswith("你好！我是通义千问") and "床前明月光" in out
    endpoints = [r.endpoint for r in readme.requests]
    assert endpoints == ["text-generation", "text-generation", "text-embedding", "compat-rerank"]
    assert readme.requests[2].parameters["text_type"] == "document"
    assert namespace["ranked"][0].index == 1  # 鸟飞回 ranks first for 飞鸟


def test_emulator_section(capsys: pytest.CaptureFixture[str]) -> None:
    [code] = blocks("emulator")
    run(code)  # it starts its own emulator
    out = capsys.readouterr().out.splitlines()
    assert "get_weather" in out[0] and "杭州" in out[0]
    assert out[1] == "晴"
    assert "result_format" in out[2]


def test_the_pytest_fixtures_work_when_copied(tmp_path: Path) -> None:
    conftest, test_app = blocks("offline testing")
    (tmp_path / "conftest.py").write_text(conftest, encoding="utf-8")
    (tmp_path / "test_app.py").write_text(test_app, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_")},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_migration_section(readme: DashScopeEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    tongyi, chat_openai, llama_index = blocks("migration")
    run(tongyi)
    assert capsys.readouterr().out.strip() == "你好！我是通义千问，有什么可以帮你的吗？ 1024"
    namespace = run(chat_openai)
    assert capsys.readouterr().out.startswith("要比较 9.11 和 9.9")
    assert namespace["compat"]._connection()["protocol"] == "openai"
    run(llama_index)
    assert capsys.readouterr().out.strip() == "你好！我是通义千问，有什么可以帮你的吗？ 1024"
    models = [r.model for r in _generations(readme)]
    assert models == ["qwen-max", "qwen-plus", "qwen-max"]
