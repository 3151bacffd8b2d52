"""LangChain integration for Qwen on DashScope."""

__all__: list[str] = []
