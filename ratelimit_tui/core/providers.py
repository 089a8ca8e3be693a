"""Known OpenAI-compatible providers: what `provider = "groq"` fills in.

Each row was checked against the provider's documentation (the `docs` column); the README lists
them. A profile fills only what the user did not set: base_url, api_key_env, model (which is also
the probe's)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    title: str
    base_url: str | None  # None: it depends on the account (Azure's resource name)
    key_env: str
    model: str  # a small model the endpoint serves: a cheap probe (Azure: a deployment name)
    docs: str
    url_hint: str | None = None  # what base_url must look like, when the profile cannot fill it


PROVIDERS: dict[str, Provider] = {p.name: p for p in (
    Provider("openai", "OpenAI", "https://api.openai.com/v1", "OPENAI_API_KEY", "gpt-4o-mini",
             "https://platform.openai.com/docs/api-reference/introduction"),
    Provider("azure", "Azure OpenAI (v1 API)", None, "AZURE_OPENAI_API_KEY", "gpt-4.1-nano",
             "https://learn.microsoft.com/azure/foundry/openai/api-version-lifecycle",
             url_hint="https://YOUR-RESOURCE.openai.azure.com/openai/v1"),
    Provider("groq", "Groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY",
             "openai/gpt-oss-20b", "https://console.groq.com/docs/openai"),
    Provider("openrouter", "OpenRouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY",
             "openai/gpt-4o-mini", "https://openrouter.ai/docs/quickstart"),
    Provider("together", "Together AI", "https://api.together.ai/v1", "TOGETHER_API_KEY",
             "openai/gpt-oss-20b", "https://docs.together.ai/docs/inference/openai-compatibility"),
    Provider("mistral", "Mistral", "https://api.mistral.ai/v1", "MISTRAL_API_KEY",
             "mistral-small-latest", "https://docs.mistral.ai/api/"),
    Provider("cerebras", "Cerebras", "https://api.cerebras.ai/v1", "CEREBRAS_API_KEY",
             "gpt-oss-120b", "https://inference-docs.cerebras.ai/resources/openai"),
    Provider("deepseek", "DeepSeek", "https://api.deepseek.com", "DEEPSEEK_API_KEY",
             "deepseek-v4-flash", "https://api-docs.deepseek.com/"),
    Provider("anthropic", "Anthropic (OpenAI SDK compatibility)", "https://api.anthropic.com/v1",
             "ANTHROPIC_API_KEY", "claude-haiku-4-5",
             "https://platform.claude.com/docs/en/api/openai-sdk"),
    Provider("gemini", "Google Gemini (OpenAI compatibility)",
             "https://generativelanguage.googleapis.com/v1beta/openai", "GEMINI_API_KEY",
             "gemini-2.5-flash-lite", "https://ai.google.dev/gemini-api/docs/openai"),
)}
