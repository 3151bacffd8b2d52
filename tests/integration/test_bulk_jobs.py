"""Bulk jobs end to end over loopback: the three runners (in process, Batch API, the Ray
predictors' logic) give the same rows; failing rows; a job killed half-way and resumed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langchain_core.messages import AIMessage
from llama_index.core.base.llms.types import ChatResponse

from langchain_qwen import ChatQwen, QwenEmbeddings
from llama_index_qwen import Qwen, QwenEmbedding
from qwen_dashscope import BadRequestError, BatchLimits, InvalidRequestError
from qwen_dashscope.ray import ChatPredictor, EmbeddingPredictor
from qwen_dashscope.testing import DashScopeEmulator, Reply

PROMPTS = [f"评论 {i}: 这家店的萝卜{'很好' if i % 2 else '不好'}" for i in range(7)]
BAD = "FAIL this row"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(
    emulator_env: DashScopeEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> DashScopeEmulator:
    monkeypatch.setenv("QWEN_DASHSCOPE_JOBS_DIR", str(tmp_path / "jobs"))
    emulator_env.when(
        lambda r: BAD in r.last_user_text, Reply.error(400, "InvalidParameter", "bad row")
    )
    return emulator_env


def _creates(emu: DashScopeEmulator) -> int:
    return emu.batches.calls.count(("POST", "/compatible-mode/v1/batches"))


def _chat_runs(emu: DashScopeEmulator) -> int:
    return sum(1 for r in emu.requests if r.endpoint.endswith(("generation", "chat")))


def _summary(message: AIMessage) -> tuple[str, int, int, int]:
    usage = message.usage_metadata or {}
    return (
        str(message.content),
        usage["input_tokens"],
        usage["output_tokens"],
        usage["total_tokens"],
    )


def test_langchain_three_runners_same_rows(env: DashScopeEmulator) -> None:
    llm = ChatQwen(model="qwen-plus", max_tokens=64)
    inputs = [*PROMPTS, BAD, ""]
    in_process = llm.batch(inputs, return_exceptions=True, requests_per_minute=6000, progress=True)
    job = llm.submit_batch(inputs, limits=BatchLimits(max_lines=3))
    assert job.status == "validating" and len(job.batch_ids) == 3  # 8 sendable rows: 3 files
    batch_api = job.wait(poll_interval=0.01)
    predictor = ChatPredictor(model="qwen-plus", parameters={"max_tokens": 64})
    ray_rows = predictor({"prompt": np.array(inputs, dtype=object)})

    for i in range(len(PROMPTS)):
        assert isinstance(in_process[i], AIMessage) and isinstance(batch_api[i], AIMessage)
        assert _summary(in_process[i]) == _summary(batch_api[i])
        assert ray_rows["text"][i] == in_process[i].content
        assert ray_rows["total_tokens"][i] == in_process[i].usage_metadata["total_tokens"]
        assert batch_api[i].response_metadata["request_id"]
    for rows in (in_process, batch_api):
        assert isinstance(rows[-2], BadRequestError) and rows[-2].message == "bad row"
        assert isinstance(rows[-1], InvalidRequestError) and rows[-1].param == "messages"
    assert ray_rows["error"][-2] == "BadRequestError: bad row"
    assert ray_rows["error"][-1].startswith("InvalidRequestError") and ray_rows["text"][-1] is None
    # the batch lines are compatible-mode requests with thinking off, max_tokens kept
    lines = [r for r in env.requests if r.headers.get("x-batch-id")]
    assert len(lines) == len(PROMPTS) + 1
    assert all(r.body["enable_thinking"] is False and r.body["max_tokens"] == 64 for r in lines)


async def test_langchain_abatch_respects_max_concurrency(env: DashScopeEmulator) -> None:
    llm = ChatQwen(model="qwen-plus")
    env.when(lambda r: True, Reply(delay=0.05))
    start = time.monotonic()
    out = await llm.abatch(PROMPTS[:6], {"max_concurrency": 2}, tokens_per_minute=10**6)
    assert [m.content for m in out] == [f"[emulator] {p}" for p in PROMPTS[:6]]
    assert time.monotonic() - start >= 0.15  # 6 rows, 2 at a time, 50 ms each
    with pytest.raises(BadRequestError):
        await llm.abatch([BAD, *PROMPTS], {"max_concurrency": 1}, row_retries=1)


def test_llama_index_runners_same_rows(env: DashScopeEmulator) -> None:
    llm = Qwen(model="qwen-plus")
    in_process = llm.batch([*PROMPTS, BAD], max_concurrency=4, return_exceptions=True)
    batch_api = llm.submit_batch([*PROMPTS, BAD]).wait(poll_interval=0.01)
    assert asyncio.run(llm.abatch(PROMPTS[:2]))[1].message.content == in_process[1].message.content
    for a, b in zip(in_process[:-1], batch_api[:-1], strict=True):
        assert isinstance(a, ChatResponse) and isinstance(b, ChatResponse)
        assert a.message.content == b.message.content
        for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
            assert a.additional_kwargs[key] == b.additional_kwargs[key]
    assert isinstance(in_process[-1], BadRequestError) and isinstance(
        batch_api[-1], BadRequestError
    )
    with pytest.raises(BadRequestError):
        llm.batch([BAD])


def test_embeddings_three_runners_same_vectors(env: DashScopeEmulator) -> None:
    texts = ["萝卜", "土豆", "茄子", "番茄炒蛋", "red braised eggplant"]
    lc = QwenEmbeddings(dimensions=64, requests_per_minute=6000, batch_size=2)
    li = QwenEmbedding(dimensions=64, tokens_per_minute=10**6, embed_batch_size=2)
    paced = lc.embed_documents(texts)
    assert li.get_text_embedding_batch(texts) == paced
    assert asyncio.run(lc.aembed_documents(texts)) == paced
    job = lc.submit_batch(texts)
    batched = job.wait(poll_interval=0.01)
    assert li.submit_batch(texts).wait(poll_interval=0.01) == batched
    ray_rows = EmbeddingPredictor(dimensions=64)({"text": np.array(texts, dtype=object)})
    np.testing.assert_allclose(np.array(batched), np.array(paced), rtol=1e-6)
    np.testing.assert_allclose(ray_rows["vector"], np.array(paced), rtol=1e-6)
    assert sum(ray_rows["total_tokens"]) > 0 and all(e is None for e in ray_rows["error"])


def test_resubmitting_the_same_inputs_finds_the_job(env: DashScopeEmulator) -> None:
    llm = ChatQwen(model="qwen-plus")
    job = llm.submit_batch(PROMPTS, limits=BatchLimits(max_lines=4))
    first = job.wait(poll_interval=0.01)
    creates, runs = _creates(env), _chat_runs(env)
    again = llm.submit_batch(PROMPTS, limits=BatchLimits(max_lines=4))
    assert again.id == job.id and again.status == "completed"
    assert [m.content for m in again.wait()] == [m.content for m in first]
    assert (_creates(env), _chat_runs(env)) == (creates, runs)  # nothing paid twice
    fresh = llm.submit_batch(PROMPTS, dedup=False)
    assert fresh.id != job.id and _creates(env) == creates + 1


def test_reattach_from_another_machine(env: DashScopeEmulator, tmp_path: Path) -> None:
    llm = ChatQwen(model="qwen-plus")
    job = llm.submit_batch(PROMPTS, limits=BatchLimits(max_lines=5))
    elsewhere = llm.batch_job(job.id, jobs_dir=str(tmp_path / "other"))  # no folder there
    assert sorted(elsewhere.batch_ids) == sorted(job.batch_ids)
    assert [m.content for m in elsewhere.wait(poll_interval=0.01)] == [
        f"[emulator] {p}" for p in PROMPTS
    ]


def test_cancel_a_job(env: DashScopeEmulator) -> None:
    env.batches.settings.seconds = 3600.0  # an hour of work: nothing is done when it is cancelled
    llm = ChatQwen(model="qwen-plus")
    job = llm.submit_batch(PROMPTS).refresh()
    assert job.status == "in_progress"
    job.cancel()
    assert job.status == "cancelling"
    rows = job.wait(poll_interval=0.01)
    assert job.status == "cancelled"
    assert all(isinstance(r, Exception) and r.code == "batch_cancelled" for r in rows)
    with pytest.raises(TimeoutError):
        llm.submit_batch(PROMPTS[:2]).wait(poll_interval=0.01, timeout=0.05)


def test_the_free_test_model_in_parts_two_at_a_time(env: DashScopeEmulator) -> None:
    llm = ChatQwen(model="batch-test-model")
    job = llm.submit_batch([f"row {i}" for i in range(250)])  # 100 lines per file [DOC]
    assert len(job.parts) == 3 and len(job.batch_ids) == 2  # ≤ 2 at once [DOC]
    rows = job.wait(poll_interval=0.01)
    assert len(job.batch_ids) == 3
    assert {m.content for m in rows} == {"This is a test result."}
    assert sum(m.usage_metadata["total_tokens"] for m in rows) == 250 * 26
    assert _chat_runs(env) == 0


SCRIPT = """
import os, signal, sys
import qwen_dashscope._client as client_module
from langchain_qwen import ChatQwen
from qwen_dashscope import BatchLimits

real = client_module.DashScopeClient.create_batch
created = 0

def create_batch(self, *args, **kwargs):
    global created
    created += 1
    answer = real(self, *args, **kwargs)
    if created == int(os.environ["KILL_AFTER_CREATE"]):
        os.kill(os.getpid(), signal.SIGKILL)  # the batch exists; the manifest does not know it
    return answer

client_module.DashScopeClient.create_batch = create_batch
prompts = [f"row {i}" for i in range(7)]
job = ChatQwen(model="qwen-plus").submit_batch(prompts, limits=BatchLimits(max_lines=3))
print(job.id, flush=True)
job.wait(poll_interval=0.01)
"""


def _start(tmp_path: Path, kill_after: int) -> subprocess.Popen[str]:
    script = tmp_path / "submit.py"
    script.write_text(textwrap.dedent(SCRIPT))
    return subprocess.Popen(
        [sys.executable, str(script)],
        env={**os.environ, "KILL_AFTER_CREATE": str(kill_after), "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_job_killed_while_submitting_resumes_without_paying_twice(
    env: DashScopeEmulator, tmp_path: Path
) -> None:
    with _start(tmp_path, kill_after=2) as process:
        assert process.wait(timeout=60) == -signal.SIGKILL, process.stderr and process.stderr.read()
    (folder,) = (tmp_path / "jobs").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert [p["status"] for p in manifest["parts"]] == ["validating", "pending", "pending"]
    assert manifest["parts"][1]["creating"] is True  # sent, answer lost
    assert _creates(env) == 2

    job = ChatQwen(model="qwen-plus").batch_job(folder.name)  # from this (another) process
    rows = job.wait(poll_interval=0.01)
    assert _creates(env) == 3  # the lost batch was found by name, only the third was created
    assert [m.content for m in rows] == [f"[emulator] row {i}" for i in range(7)]
    assert _chat_runs(env) == 7  # every row ran once


def test_a_job_killed_while_waiting_resumes_where_it_was(
    env: DashScopeEmulator, tmp_path: Path
) -> None:
    env.batches.settings.progress_polls = 10**6  # the batches run until the test says so
    with _start(tmp_path, kill_after=0) as process:
        assert process.stdout is not None
        job_id = process.stdout.readline().strip()
        assert job_id.startswith("qdjob-"), process.stderr and process.stderr.read()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until it polls: every batch was created
            if any(m == "GET" and "/batches/" in p for m, p in env.batches.calls):
                break
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    env.batches.settings.progress_polls = 1
    creates = _creates(env)
    assert creates == 3

    # The same inputs submitted again: the job is recognised and picked up where it was.
    job = ChatQwen(model="qwen-plus").submit_batch(
        [f"row {i}" for i in range(7)], limits=BatchLimits(max_lines=3)
    )
    assert job.id == job_id
    rows = job.wait(poll_interval=0.01)
    assert _creates(env) == creates
    assert [m.content for m in rows] == [f"[emulator] row {i}" for i in range(7)]
    assert _chat_runs(env) == 7


IN_PROCESS_SCRIPT = """
import os, sys
from langchain_qwen import ChatQwen
from llama_index_qwen import Qwen

prompts = [f"row {i}" for i in range(40)]
if os.environ["FRAMEWORK"] == "langchain":
    out = ChatQwen(model="qwen-plus").batch(
        prompts, {"max_concurrency": 4}, checkpoint=os.environ["CHECKPOINT"]
    )
else:
    out = Qwen(model="qwen-plus").batch(
        prompts, max_concurrency=4, checkpoint=os.environ["CHECKPOINT"]
    )
print("finished", flush=True)
"""


@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
def test_the_in_process_runner_killed_half_way_resumes_from_its_checkpoint(
    env: DashScopeEmulator, tmp_path: Path, framework: str
) -> None:
    env.when(lambda r: True, Reply(delay=0.05))
    checkpoint = tmp_path / "rows.jsonl"
    script = tmp_path / "rows.py"
    script.write_text(textwrap.dedent(IN_PROCESS_SCRIPT))
    environ = {**os.environ, "CHECKPOINT": str(checkpoint), "FRAMEWORK": framework}
    with subprocess.Popen(
        [sys.executable, str(script)], env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if checkpoint.exists() and checkpoint.read_bytes().count(b"\n") >= 12:
                break
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    kept = checkpoint.read_bytes().count(b"\n")
    assert 12 <= kept < 40
    sent_before = _chat_runs(env)

    prompts = [f"row {i}" for i in range(40)]
    if framework == "langchain":
        out = ChatQwen(model="qwen-plus").batch(
            prompts, {"max_concurrency": 8}, checkpoint=str(checkpoint)
        )
        texts = [m.content for m in out]
        usage = [m.usage_metadata["total_tokens"] for m in out]
    else:
        out = Qwen(model="qwen-plus").batch(prompts, max_concurrency=8, checkpoint=str(checkpoint))
        texts = [r.message.content for r in out]
        usage = [r.additional_kwargs["total_tokens"] for r in out]
    assert texts == [f"[emulator] row {i}" for i in range(40)]
    assert len(set(usage)) == 1  # the stored rows carry their usage too
    assert _chat_runs(env) - sent_before == 40 - kept  # finished rows were not sent again


def _second_view(job: Any) -> Any:
    """What another process following the same job holds: the manifest as it is on disk now."""
    from qwen_dashscope._batch import load_manifest
    from qwen_dashscope._jobs import BatchJob

    manifest = load_manifest(job.folder)
    assert manifest is not None
    return BatchJob(job._client, manifest, job.folder)


def test_two_processes_following_one_job_never_create_a_batch_twice(
    env: DashScopeEmulator,
) -> None:
    """The second one's view is older than the disk (the first created a batch since): it
    starts from the manifest on disk, so it sees that batch. (Working from its own view, it
    used to find the part's input file gone, mark the part failed and save that over the
    job; with the file still there, it would have paid for the batch again.)"""
    llm = ChatQwen(model="qwen-plus")
    rows = [f"row {i}" for i in range(6)]
    job = llm.submit_batch(rows, limits=BatchLimits(max_lines=3, max_active=1))
    assert _creates(env) == 1  # part 2 waits for part 1 (one batch at a time)
    other = _second_view(job)  # loaded while part 2 has no batch
    first = job.wait(poll_interval=0.01)
    assert _creates(env) == 2
    other.refresh()
    assert _creates(env) == 2  # part 2 was created by the first: not again
    assert [p.status for p in other.parts] == ["completed", "completed"]
    assert [p.status for p in _second_view(job).parts] == ["completed", "completed"]  # on disk
    assert [r.text for r in other.results()] == [m.content for m in first]
    assert _chat_runs(env) == 6


def test_a_step_on_a_job_waits_for_the_job_lock(env: DashScopeEmulator) -> None:
    """refresh (and so wait and resume) holds the job folder's lock: while another holder has
    it, the step waits instead of working from a manifest that is about to change."""
    import threading

    from qwen_dashscope._jobs import _job_lock

    job = ChatQwen(model="qwen-plus").submit_batch(["a", "b"])
    other = _second_view(job)
    done = threading.Event()
    worker = threading.Thread(target=lambda: (other.refresh(), done.set()))
    with _job_lock(job.folder):
        worker.start()
        assert not done.wait(0.3)  # blocked on the lock
    assert done.wait(10)  # and goes on once it is free
    worker.join()
