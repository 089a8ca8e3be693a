"""ratelimit-tui: see and live with LLM API rate limits."""

__version__ = "0.1.0"
