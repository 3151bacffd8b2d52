"""Regions, base URLs, keys and timeouts."""

from __future__ import annotations

import pytest

from qwen_dashscope import DEFAULT_BASE_URL, REGIONS, DashScopeClient, InvalidRequestError, Timeouts
from qwen_dashscope._config import auth_hint, resolve_api_key, resolve_base_url


@pytest.mark.parametrize(
    ("region", "url"),
    [
        ("beijing", "https://dashscope.aliyuncs.com/api/v1"),
        ("cn-beijing", "https://dashscope.aliyuncs.com/api/v1"),
        ("singapore", "https://dashscope-intl.aliyuncs.com/api/v1"),
        ("intl", "https://dashscope-intl.aliyuncs.com/api/v1"),
        ("ap-southeast-1", "https://dashscope-intl.aliyuncs.com/api/v1"),
        ("us", "https://dashscope-us.aliyuncs.com/api/v1"),
        ("hongkong", "https://cn-hongkong.dashscope.aliyuncs.com/api/v1"),
        ("HK", "https://cn-hongkong.dashscope.aliyuncs.com/api/v1"),
        ("finance", "https://dashscope-finance.aliyuncs.com/api/v1"),
    ],
)
def test_region_shortcuts(region: str, url: str) -> None:
    assert resolve_base_url(region=region) == url


def test_default_is_beijing_then_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_base_url() == DEFAULT_BASE_URL == REGIONS["beijing"]
    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", "https://dashscope-intl.aliyuncs.com/api/v1/")
    assert resolve_base_url() == "https://dashscope-intl.aliyuncs.com/api/v1"
    assert resolve_base_url("http://127.0.0.1:9/api/v1") == "http://127.0.0.1:9/api/v1"


def test_bare_host_gets_the_api_path() -> None:
    assert resolve_base_url("https://ws-1.ap-southeast-1.maas.aliyuncs.com") == (
        "https://ws-1.ap-southeast-1.maas.aliyuncs.com/api/v1"
    )


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"region": "mars"}, "region"),
        ({"base_url": "ftp://x"}, "base_url"),
        ({"base_url": "https://x", "region": "us"}, "base_url"),
    ],
)
def test_bad_settings_name_the_parameter(kwargs: dict[str, str], param: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        resolve_base_url(**kwargs)
    assert info.value.param == param
    assert param in str(info.value)


def test_api_key_from_argument_or_env(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidRequestError, match="DASHSCOPE_API_KEY"):
        resolve_api_key(None)
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-env")
    assert resolve_api_key(None) == "sk-env"
    assert resolve_api_key("sk-arg") == "sk-arg"


def test_key_never_in_repr() -> None:
    client = DashScopeClient(api_key="sk-very-secret")
    assert "sk-very-secret" not in repr(client)
    assert "sk-very-secret" not in str(vars(client))


def test_auth_hint_names_the_region_setting() -> None:
    hint = auth_hint(REGIONS["singapore"])
    assert hint is not None
    assert "'singapore'" in hint and "region=" in hint and "'beijing'" in hint
    assert auth_hint("http://127.0.0.1:8000/api/v1") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, Timeouts()),
        (30, Timeouts(connect=10.0, read=30.0)),
        (2.5, Timeouts(connect=2.5, read=2.5)),
        (Timeouts(total=5), Timeouts(total=5)),
    ],
)
def test_timeouts(value: float | Timeouts | None, expected: Timeouts) -> None:
    assert Timeouts.of(value) == expected


@pytest.mark.parametrize("value", [0, -1, True, "10"])
def test_bad_timeouts(value: object) -> None:
    with pytest.raises(InvalidRequestError, match="timeout"):
        Timeouts.of(value)  # type: ignore[arg-type]
