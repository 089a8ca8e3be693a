"""Settings layers: defaults < config file < environment < flags."""

import pytest

from ratelimit_tui.config import ConfigError, load_settings


def write(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_layers_in_order(tmp_path):
    path = write(tmp_path, 'model = "from-file"\nbase_url = "http://file/v1"\npoll = 30\n')
    env = {"OPENAI_API_KEY": "sk-env", "RATELIMIT_TUI_MODEL": "from-env"}
    settings = load_settings({"model": "from-flag"}, env, path)
    assert settings.model == "from-flag" and settings.base_url == "http://file/v1"
    assert settings.poll_s == 30 and not settings.demo
    assert settings.api_key.get() == "sk-env"
    assert load_settings({}, env, path).model == "from-env"


def test_key_from_the_variable_the_file_names(tmp_path):
    path = write(tmp_path, 'api_key_env = "GROQ_API_KEY"\nbase_url = "http://groq/v1"\n')
    settings = load_settings({}, {"GROQ_API_KEY": "gsk_x", "OPENAI_API_KEY": "sk-other"}, path)
    assert settings.api_key.get() == "gsk_x"


def test_no_key_and_no_base_url_is_demo(tmp_path):
    settings = load_settings({}, {}, tmp_path / "missing.toml")
    assert settings.demo and settings.poll_s == 10.0 and settings.base_url is None
    assert load_settings({"poll_s": "off"}, {}, tmp_path / "missing.toml").poll_s is None
    forced = load_settings({"demo": True}, {"OPENAI_API_KEY": "sk-real"}, tmp_path / "m.toml")
    assert forced.demo and forced.api_key.get() != "sk-real"


def test_real_endpoint_polls_only_when_asked(tmp_path):
    settings = load_settings({}, {"OPENAI_API_KEY": "sk-real"}, tmp_path / "missing.toml")
    assert settings.poll_s is None
    assert load_settings({"poll_s": "15"}, {"OPENAI_API_KEY": "k"}, tmp_path / "m").poll_s == 15


@pytest.mark.parametrize("text, phrase", [
    ('api_key = "sk-in-file"\n', "environment variable"),
    ('colour = "red"\n', "unknown setting 'colour'"),
    ("poll = 0.2\n", "once a second"),
    ('stream = "yes"\n', "wrong type"),
    ("model = \n", "not valid TOML"),
    ("retention_days = -1\n", "retention_days must be more than zero"),
    ("timeout = 0\n", "timeout must be more than zero"),
    ("max_retries = -2\n", "max_retries must be zero or more"),
    ("retry_cap = inf\n", "retry_cap must be zero or more"),
    ("poll = true\n", "poll is a number of seconds"),
    ("poll = nan\n", "poll must be zero or more"),
])
def test_bad_files_are_clear(tmp_path, text, phrase):
    with pytest.raises(ConfigError, match=phrase):
        load_settings({}, {}, write(tmp_path, text))


def test_bad_poll_flag():
    with pytest.raises(ConfigError, match="--poll"):
        load_settings({"poll_s": "soon"}, {}, None)
