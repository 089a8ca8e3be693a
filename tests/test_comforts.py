"""The comforts of a daily tool, in the real dashboard on real simulators: ? for help, a hint
on a real endpoint's first screen, the model picker and completion, choices kept across
restarts, the low-headroom alert, and a question before /burst spends real quota."""

import pytest
from replay import Recorded, ReplayServer
from scenes import ScriptedTime
from textual.widgets._toast import Toast
from tui_helpers import demo_app, log_text, press_key, ready, send, wait_until

from ratelimit_tui.config import Settings, load_settings
from ratelimit_tui.core.choices import Choices, load, save
from ratelimit_tui.core.client import ModelsUnlisted, QuotaClient
from ratelimit_tui.core.endpoint import Endpoint
from ratelimit_tui.core.secret import Secret
from ratelimit_tui.tui.app import make_app
from ratelimit_tui.tui.screens import ConfirmScreen, HelpScreen


def real_app(sim, **settings) -> object:
    """The dashboard on a simulator as a real endpoint would be: a key, a URL, no polling."""
    return make_app(Settings(base_url=sim.base_url, api_key=Secret("sk-test"), history=False,
                             **settings))


async def test_a_question_mark_in_an_empty_box_opens_the_help_and_types_after_text():
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("?")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press(*"why?")
        assert app.chat.input.value == "why?" and not isinstance(app.screen, HelpScreen)


async def test_a_real_endpoint_says_how_to_get_numbers_without_chatting(run_sim):
    app = real_app(run_sim())
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert "Press F5 for one minimal call, or /poll 30" in str(app.quota_panel.empty.render())
    demo = demo_app()
    async with demo.run_test(size=(80, 24)):
        assert "F5" not in str(demo.quota_panel.empty.render())  # the demo polls by itself


async def test_the_model_picker_lists_the_endpoints_models_and_switches(run_sim):
    app = real_app(run_sim())
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await send(pilot, "/model")
        await wait_until(pilot, lambda: app.session.models is not None, what="the models")
        assert app.session.models == ("gpt-4.1-mini", "gpt-4o-mini", "o4-mini", "sim-echo")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "CommandPalette")
        await pilot.press(*"o4", "enter")
        await wait_until(pilot, lambda: app.session.model == "o4-mini", what="the switch")
        assert app.session.client.model == "o4-mini" and "model: o4-mini" in log_text(app)
        await send(pilot, "/model gpt-nonexistent")  # switched, but warned
        assert "model: gpt-nonexistent; not among the endpoint's models" in log_text(app)


def toasts(app) -> list[str]:
    return [str(toast.render()) for toast in app.screen.query(Toast)]


async def test_the_model_picker_says_why_the_endpoint_could_not_list_its_models(
        unused_tcp_port):
    """It said the endpoint "listed no models" when it could not be reached at all."""
    app = make_app(Settings(base_url=f"http://127.0.0.1:{unused_tcp_port}/v1",
                            api_key=Secret("sk-test"), history=False))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await ready(pilot)
        await send(pilot, "/model")
        await wait_until(pilot, lambda: toasts(app), what="the answer to /model")
        assert toasts(app) == ["Cannot list the models: Connection error.\n"
                               "/model NAME switches by name."]


async def test_the_model_picker_asks_again_after_a_refusal_and_tells_it_from_an_empty_list():
    refused = Recorded(401, "Unauthorized", [("content-type", "application/json")],
                       b'{"error": {"message": "Incorrect API key provided: sk-test."}}')
    listed = Recorded(200, "OK", [("content-type", "application/json")],
                      b'{"object": "list", "data": [{"id": "m1", "object": "model"}]}')
    with ReplayServer(refused, listed) as server:
        app = real_app(server)
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            await ready(pilot)
            await send(pilot, "/model")
            await wait_until(pilot, lambda: toasts(app), what="the answer to /model")
            assert toasts(app) == ["Cannot list the models: the endpoint answered 401: "
                                   "Incorrect API key provided: [key].\n"
                                   "/model NAME switches by name."]
            await send(pilot, "/model")  # the endpoint may answer now
            await wait_until(pilot, lambda: type(app.screen).__name__ == "CommandPalette")
            assert app.session.models == ("m1",) and server.requests == ["/v1/models"] * 2
    empty = Recorded(200, "OK", [("content-type", "application/json")],
                     b'{"object": "list", "data": []}')
    with ReplayServer(empty) as server:
        app = real_app(server)
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            await ready(pilot)
            await send(pilot, "/model")
            await wait_until(pilot, lambda: toasts(app), what="the answer to /model")
            assert toasts(app) == [
                "This endpoint listed no models: /model NAME switches by name."]


async def test_completion_of_commands_and_model_names_as_they_are_typed(run_sim):
    app = real_app(run_sim())
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        chat_input = app.chat.input
        await pilot.press(*"/mo")  # the first '/' lists the models, once
        await wait_until(pilot, lambda: chat_input._suggestion == "/model ")
        await pilot.press("tab", *"gpt-4o")
        await wait_until(pilot, lambda: chat_input._suggestion == "/model gpt-4o-mini")
        await pilot.press("tab", "enter")
        assert app.session.model == "gpt-4o-mini"
        await pilot.press(*"/zz", "tab")  # nothing to complete: Tab keeps the focus
        assert app.focused is chat_input and chat_input.value == "/zz"


async def test_an_endpoint_without_a_list_of_models_says_so(run_sim):
    sim = run_sim()
    client = QuotaClient(Endpoint(base_url=sim.base_url.replace("/v1", "/nowhere"),
                                  api_key=Secret("sk-test")), "gpt-4o-mini")
    try:
        with pytest.raises(ModelsUnlisted) as refused:
            await client.models()
        assert "404" in str(refused.value) and "sk-test" not in str(refused.value)
    finally:
        await client.aclose()


async def test_choices_made_in_the_dashboard_are_kept_for_the_next_run(tmp_path):
    path = tmp_path / "choices.json"
    app = make_app(load_settings({"demo": True, "poll_s": "off", "history": False}, env={}),
                   choices=load(path), choices_path=path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("f3", "f2")
        await send(pilot, "/poll 30")
        app.theme = "nord"
        await pilot.pause()
    kept = load(path)
    assert kept == Choices(theme="nord", window_s=3600.0, headers=True, poll_s={"demo": 30.0})
    assert path.stat().st_mode & 0o777 == 0o600  # it names the endpoints used: the user's
    again = make_app(load_settings({"demo": True, "poll_s": "off", "history": False}, env={}),
                     choices=kept, choices_path=path)
    async with again.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        assert again.plot.window == 3600.0 and again.last_response.display


def test_a_damaged_choices_file_is_as_if_nothing_was_chosen(tmp_path):
    path = tmp_path / "choices.json"
    for text in ("{not json", "[1, 2]", '{"theme": 3, "window_s": -1, "poll_s": {"x": "y"}}'):
        path.write_text(text)
        assert load(path) == Choices()
    assert save(tmp_path / "missing" / "deeper" / "c.json", Choices(theme="nord")) is None
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro" / "c.json").mkdir()  # a directory where the file goes: not writable
    assert "c.json" in save(tmp_path / "ro" / "c.json", Choices(theme="nord"))


def test_a_flag_beats_the_last_runs_choice_and_the_choice_beats_the_config(tmp_path,
                                                                          monkeypatch):
    from ratelimit_tui import cli

    config = tmp_path / "config.toml"
    config.write_text('theme = "gruvbox"\npoll = 60\n')
    monkeypatch.setenv("RATELIMIT_TUI_CONFIG", str(config))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    save(tmp_path / "data" / "choices.json",
         Choices(theme="nord", poll_s={"https://api.openai.com/v1": 0.0}))
    built = {}
    monkeypatch.setattr("ratelimit_tui.tui.app.RateLimitApp.run", lambda app: built.update(
        settings=app.settings, choices=app.choices))
    cli.main(["dashboard"])
    assert (built["settings"].theme, built["settings"].poll_s) == ("nord", None)
    cli.main(["dashboard", "--theme", "dracula", "--poll", "20"])
    assert (built["settings"].theme, built["settings"].poll_s) == ("dracula", 20.0)


async def test_low_headroom_is_said_once_per_crossing_and_shown_while_it_lasts(monkeypatch):
    scripted = ScriptedTime()
    app = demo_app(scripted=scripted, limits=_limits(20))
    rings = []
    monkeypatch.setattr(app, "bell", lambda: rings.append(1))
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await send(pilot, "/burst 19")  # 1 of 20 left: 5%, under the 10% alert
        await wait_until(pilot, lambda: "low headroom" in log_text(app), what="the alert")
        assert "low headroom: requests / min fell under the 10% alert" in log_text(app)
        assert "▼ requests 5%" in str(app.status.shown)
        gauge = app.quota_panel.gauges["requests"]
        assert "◆ low" in str(gauge.text)
        await send(pilot, "/burst 1")  # lower still: the same crossing, not said again
        await wait_until(pilot, lambda: app.session.quota.get("requests").bucket.remaining == 0)
        await pilot.pause()
        assert log_text(app).count("low headroom") == 1 and not rings  # the bell is opt-in
        scripted.advance(30)  # half the window: the projection climbs over 10% again
        app.tick()
        assert app.session.alarm.low is None and "▼" not in str(app.status.shown)
        assert not app.session.alarm.armed  # only a response saying 20% left re-arms it
        await send(pilot, "/burst 12")  # its first responses say 50%; its last, 0%
        await wait_until(pilot, lambda: log_text(app).count("low headroom") == 2)


async def test_the_bell_rings_with_the_alert_when_asked(monkeypatch):
    app = demo_app(settings=Settings(demo=True, bell=True, alert_below=50, history=False),
                   limits=_limits(4))
    rings = []
    monkeypatch.setattr(app, "bell", lambda: rings.append(1))
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(pilot)
        await send(pilot, "/burst 3")
        await wait_until(pilot, lambda: rings == [1], what="the bell")
        assert "fell under the 50% alert" in log_text(app)


async def test_burst_on_a_real_endpoint_asks_first_and_says_what_it_spends(run_sim):
    sim = run_sim()
    app = real_app(sim)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await send(pilot, "/burst 7")
        assert isinstance(app.screen, ConfirmScreen)
        question = app.screen.question
        assert "/burst 7 on 127.0.0.1:" in question and "7 minimal calls" in question
        assert "about 7 × 9 = 63 tokens (an estimate)" in question
        await pilot.press("escape")
        assert sim.simulator.requests_served == 0 and "/burst 7: not sent" in log_text(app)
        press_key(pilot, "f5")  # one minimal call, whose usage is counted
        await wait_until(pilot, lambda: app.session.probe_tokens is not None)
        await send(pilot, "/burst 3")
        assert f"× {app.session.probe_tokens} = " in app.screen.question
        assert "as the last minimal call counted" in app.screen.question
        await pilot.press("enter")
        await wait_until(pilot, lambda: "burst of 3: 3 ok" in log_text(app), what="the burst")
        assert sim.simulator.requests_served == 4
    demo = demo_app()  # the simulator's quota costs nothing: no question
    async with demo.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await send(pilot, "/burst 2")
        assert not isinstance(demo.screen, ConfirmScreen)


def _limits(rpm: int):
    from ratelimit_tui.sim.limiter import Limits

    return Limits(rpm=rpm, tpm=1_000_000)


async def test_the_settings_theme_is_not_taken_for_a_choice(tmp_path):
    path = tmp_path / "choices.json"
    app = make_app(Settings(demo=True, theme="gruvbox", history=False), choices_path=path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.theme == "gruvbox"
    assert not path.exists()  # the config file's theme stays the config file's
