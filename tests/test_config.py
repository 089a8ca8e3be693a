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


TEAM = '''
timeout = 20
model = "top-model"
[endpoints.openai]
api_key_env = "OPENAI_API_KEY"
poll = 60
[endpoints.groq]
provider = "groq"
[endpoints.local]
base_url = "http://127.0.0.1:8000/v1"
'''


def test_named_endpoints_take_their_own_where_and_the_top_levels_patience(tmp_path):
    from ratelimit_tui.config import load_endpoints

    env = {"OPENAI_API_KEY": "sk-o", "GROQ_API_KEY": "gsk_g"}
    found = {s.name: s for s in load_endpoints(None, {}, env, write(tmp_path, TEAM))}
    assert list(found) == ["openai", "groq", "local"]
    assert all(s.timeout_s == 20 for s in found.values())  # inherited
    assert found["openai"].model == "gpt-4o-mini"  # where calls go is not inherited
    assert found["openai"].poll_s == 60 and found["groq"].poll_s is None
    groq = found["groq"]
    assert (groq.base_url, groq.api_key.get(), groq.model) == (
        "https://api.groq.com/openai/v1", "gsk_g", "openai/gpt-oss-20b")
    assert found["local"].api_key is None and not found["local"].demo  # a local server: no key
    # The top level is still the default endpoint, as before named endpoints existed.
    default = load_settings({}, env, write(tmp_path, TEAM))
    assert default.name == "default" and default.model == "top-model"
    chosen = load_settings({"endpoint": "groq", "model": "other"}, env, write(tmp_path, TEAM))
    assert chosen.base_url.startswith("https://api.groq.com") and chosen.model == "other"


def test_a_provider_fills_only_what_is_not_set(tmp_path):
    path = write(tmp_path, 'provider = "mistral"\nmodel = "mine"\n')
    settings = load_settings({}, {"MISTRAL_API_KEY": "m"}, path)
    assert settings.base_url == "https://api.mistral.ai/v1" and settings.model == "mine"
    flagged = load_settings({"provider": "gemini"}, {"GEMINI_API_KEY": "g"}, tmp_path / "none")
    assert flagged.base_url.startswith("https://generativelanguage.googleapis.com")
    assert flagged.api_key.get() == "g"


@pytest.mark.parametrize("text, names, phrase", [
    ("[endpoints.groq]\ntimout = 3\n", None, r"\[endpoints.groq\]: unknown setting 'timout'"),
    ("[endpoints.groq]\nprovider = \"groq\"\n", None,
     r"\[endpoints.groq\]: api_key_env: the variable GROQ_API_KEY is not set"),
    ("[endpoints.x]\nbase_url = \"ftp://h\"\n", None, r"\[endpoints.x\]: base_url must be"),
    ("[endpoints.x]\nbase_url = \"https://u:pw@h:99999\"\n", None, "'https://h:99999'"),
    ("[endpoints.x]\nbase_url = \"http://[::1\"\n", None, r"not 'http://\[::1'"),
    ("[endpoints.x]\nprovider = \"acme\"\n", None, "unknown provider 'acme'"),
    ("[endpoints.az]\nprovider = \"azure\"\n", None, "YOUR-RESOURCE.openai.azure.com"),
    ("[endpoints.default]\nmodel = \"m\"\n", None, "not 'default'"),
    ("[endpoints.a]\nbase_url = \"http://h\"\n", ["b"], "no endpoint named 'b'"),
    ("[endpoints.a]\ntheme = \"x\"\n", None, r"\[endpoints.a\]: unknown setting 'theme'"),
    ("endpoints = 3\n", None, r"\[endpoints.NAME\]"),
])
def test_a_bad_section_names_itself_and_its_key(tmp_path, text, names, phrase):
    from ratelimit_tui.config import load_endpoints

    with pytest.raises(ConfigError, match=phrase) as caught:
        load_endpoints(names, {}, {}, write(tmp_path, text))
    assert "pw" not in str(caught.value)


def test_a_provider_s_key_goes_only_to_the_provider(tmp_path):
    path = write(tmp_path, 'provider = "groq"\n')
    env = {"GROQ_API_KEY": "gsk_x", "OPENAI_BASE_URL": "http://somewhere-else:8000/v1"}
    assert load_settings({}, env, path).base_url == "https://api.groq.com/openai/v1"


@pytest.mark.parametrize("given, shown", [
    ("notaurl", "'notaurl'"),  # it was shown as '://notaurl'
    ("localhost:8000", "'localhost:8000'"),
    ("https://me:hunter2@h:99999/v1?api-key=sk-q", "'https://h:99999/v1'"),
    ("https://me:hun/ter?2@h:99999/", "'https://h:99999/'"),  # a password with / and ?
    ("me:hunter2@proxy.example", "'proxy.example'"),  # no scheme, still a password
])
def test_a_refused_url_is_echoed_as_given_without_credentials(run_main, given, shown):
    result = run_main("probe", "--base-url", given)
    assert result.returncode == 2
    assert result.stderr.rstrip().endswith(f"URL with a host, not {shown}"), result.stderr
    assert "hunter2" not in result.stderr and "hun" not in result.stderr and "sk-q" not in \
        result.stderr


def test_a_bad_url_from_a_flag_or_the_environment_is_named():
    with pytest.raises(ConfigError, match="--base-url: base_url must be"):
        load_settings({"base_url": "localhost:8000"}, {}, None)
    with pytest.raises(ConfigError, match="OPENAI_BASE_URL"):
        load_settings({}, {"OPENAI_BASE_URL": "not a url"}, None)
