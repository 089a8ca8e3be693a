"""The simulator's vocabulary, importable without its HTTP stack (the CLI's --help uses it)."""

DIALECTS = ("openai", "azure", "anthropic-compat", "groq", "openrouter")
FAULT_KINDS = ("500", "503", "401", "quota", "hang", "cut", "garbage", "noheaders")
MODELS = ("gpt-4o-mini", "gpt-4.1-mini", "o4-mini", "sim-echo")
REASONING_MODELS = ("o4-mini",)  # like OpenAI's, they refuse max_tokens for max_completion_tokens
