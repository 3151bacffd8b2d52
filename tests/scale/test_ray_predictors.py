"""The Ray Data predictors on a pandas batch (pandas comes with the ``ray`` extra, which
``make test-scale`` installs), called directly: no Ray session is started.

The predictors' other columns and settings are tested in tests/unit/core/test_ray_predictors.py
(numpy batches, without Ray); a real Ray Data run is in test_ray_data.py.
"""

from __future__ import annotations

import pytest

from qwen_dashscope.ray import ChatPredictor
from qwen_dashscope.testing import DashScopeEmulator

pytestmark = pytest.mark.scale


def test_messages_column_and_pandas(emulator_env: DashScopeEmulator) -> None:
    pd = pytest.importorskip("pandas")
    predictor = ChatPredictor(model="qwen-plus", messages_column="messages")
    frame = pd.DataFrame({"messages": [[{"role": "user", "content": "你好"}]]})
    out = predictor(frame)
    assert list(out.columns) == [
        "messages",
        "text",
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "request_id",
        "error",
    ]
    assert out["text"][0] == "[emulator] 你好"
    predictor.close()
