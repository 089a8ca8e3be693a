"""The simulator's vocabulary, importable without its HTTP stack (the CLI's --help uses it)."""

DIALECTS = ("openai", "azure", "anthropic-compat", "groq", "openrouter")
FAULT_KINDS = ("500", "503", "401", "quota", "hang", "cut", "garbage", "noheaders")
