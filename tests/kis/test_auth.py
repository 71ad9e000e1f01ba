"""KIS access token and approval key against a local fake KIS REST server.

No recorded KIS REST response exists: the fake server answers with payloads shaped as KIS
documents them (the official samples, github.com/koreainvestment/open-trading-api
``examples_llm/kis_auth.py``); the values are made up for the tests.
"""

import pytest
from django.core.cache import cache
from django.test import override_settings

from markets.sources.kis import auth as kis_auth
from markets.sources.kis.auth import KisAuth, KisConfig, KisError, KisNetworkError, MemoryCache
from tests.kis.fake_rest import APPROVAL_PATH, TOKEN_PATH, FakeKis, approval_reply, free_port, token_reply


class FakeClock:
    def __init__(self, start: float = 1_750_000_000.0):
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def fake():
    server = FakeKis().start()
    server.default[TOKEN_PATH] = token_reply()
    server.default[APPROVAL_PATH] = approval_reply()
    yield server
    server.stop()


@pytest.fixture
def clock():
    return FakeClock()


def make_auth(fake, clock, cache=None, **config):
    config = KisConfig(app_key="APPKEY", app_secret="SECRET", env="mock", base_url=fake.url, **config)
    return KisAuth(config, cache if cache is not None else MemoryCache(clock), clock=clock, sleep=clock.sleep)


def test_token_issued_once_and_reused(fake, clock):
    auth = make_auth(fake, clock)
    tokens = {auth.get_access_token() for _ in range(50)}
    assert tokens == {"tok-1"}
    calls = fake.calls(TOKEN_PATH)
    assert len(calls) == 1
    method, _, _, headers, body = calls[0]
    assert method == "POST"
    assert body == {"grant_type": "client_credentials", "appkey": "APPKEY", "appsecret": "SECRET"}
    assert headers["content-type"].startswith("application/json")


def test_token_shared_by_instances_through_the_cache(fake, clock):
    shared = MemoryCache(clock)
    first = make_auth(fake, clock, shared)
    second = make_auth(fake, clock, shared)  # another process, same Redis
    assert first.get_access_token() == second.get_access_token() == "tok-1"
    assert len(fake.calls(TOKEN_PATH)) == 1


def test_token_reissued_after_its_life(fake, clock):
    fake.script(TOKEN_PATH, token_reply("tok-1"), token_reply("tok-2"))
    auth = make_auth(fake, clock)
    assert auth.get_access_token() == "tok-1"
    clock.now += 86_400 - 301  # still inside life minus the 5 min margin
    assert auth.get_access_token() == "tok-1"
    clock.now += 2
    assert auth.get_access_token() == "tok-2"
    assert len(fake.calls(TOKEN_PATH)) == 2


def test_expiry_stamp_shortens_the_cached_life(fake, clock):
    from datetime import datetime

    from markets.sources.kis.auth import SEOUL

    expires = datetime.fromtimestamp(clock.now + 3600, SEOUL).strftime("%Y-%m-%d %H:%M:%S")
    fake.script(TOKEN_PATH, token_reply("tok-1", expired=expires), token_reply("tok-2"))
    auth = make_auth(fake, clock)
    assert auth.get_access_token() == "tok-1"
    clock.now += 3600 - 299  # past (stamp - margin) although expires_in says 24 h
    assert auth.get_access_token() == "tok-2"


def test_reissue_guard_one_issue_a_minute(fake, clock):
    fake.script(TOKEN_PATH, token_reply("tok-1"), token_reply("tok-2"))
    auth = make_auth(fake, clock)
    assert auth.get_access_token() == "tok-1"
    auth.invalidate_access_token()  # KIS said EGW00123 seconds later
    clock.now += 10
    with pytest.raises(KisError) as err:
        auth.get_access_token()
    assert err.value.code == "REISSUE_GUARD"
    assert len(fake.calls(TOKEN_PATH)) == 1  # KIS was not asked again
    assert sum(clock.slept) >= auth.config.reissue_wait  # it waited for another issuer first
    clock.now += 60
    assert auth.get_access_token() == "tok-2"
    assert len(fake.calls(TOKEN_PATH)) == 2


def test_guard_waiter_gets_the_other_issuers_token(fake, clock):
    shared = MemoryCache(clock)
    auth = make_auth(fake, clock, shared)
    shared.add(f"kis:token-guard:{auth.config.key_id}", 1, timeout=60)  # another process is issuing
    original_sleep = clock.sleep

    def sleep_then_publish(seconds):
        original_sleep(seconds)
        shared.set(f"kis:token:{auth.config.key_id}", "tok-other", timeout=3600)

    auth._sleep = sleep_then_publish
    assert auth.get_access_token() == "tok-other"
    assert fake.calls(TOKEN_PATH) == []


def test_failed_issue_raises_kis_error_and_holds_the_guard(fake, clock):
    fake.script(
        TOKEN_PATH,
        (403, {"error_code": "EGW00133", "error_description": "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)"}),
    )
    auth = make_auth(fake, clock)
    with pytest.raises(KisError) as err:
        auth.get_access_token()
    assert (err.value.code, err.value.status) == ("EGW00133", 403)
    assert "1분당 1회" in err.value.message
    with pytest.raises(KisError) as again:
        auth.get_access_token()
    assert again.value.code == "REISSUE_GUARD"
    assert len(fake.calls(TOKEN_PATH)) == 1


def test_answer_without_token_is_an_error(fake, clock):
    fake.script(TOKEN_PATH, (200, {"token_type": "Bearer"}))
    with pytest.raises(KisError) as err:
        make_auth(fake, clock).get_access_token()
    assert err.value.code == "BAD_RESPONSE"


def test_network_error_is_kis_network_error(clock):
    port = free_port()  # nothing listens there
    config = KisConfig(app_key="APPKEY", app_secret="SECRET", base_url=f"http://127.0.0.1:{port}", timeout=2)
    auth = KisAuth(config, MemoryCache(clock), clock=clock, sleep=clock.sleep)
    with pytest.raises(KisNetworkError) as err:
        auth.get_access_token()
    assert err.value.code == "NETWORK"


def test_missing_keys_raise_config_error(fake, clock):
    auth = KisAuth(KisConfig(app_key="", app_secret="", base_url=fake.url), MemoryCache(clock))
    with pytest.raises(KisError) as err:
        auth.get_approval_key()
    assert err.value.code == "CONFIG"
    assert fake.requests == []


def test_unknown_env_rejected():
    with pytest.raises(KisError) as err:
        KisConfig(app_key="k", app_secret="s", env="paper")
    assert err.value.code == "CONFIG"


def test_env_base_urls():
    assert KisConfig("k", "s", env="real").url == "https://openapi.koreainvestment.com:9443"
    assert KisConfig("k", "s", env="mock").url == "https://openapivts.koreainvestment.com:29443"
    assert KisConfig("k", "s", env="mock").requests_per_second == 2
    assert KisConfig("k", "s", env="real").requests_per_second == 20
    env = KisConfig.from_env({"KIS_APP_KEY": "a", "KIS_APP_SECRET": "b", "KIS_ENV": "mock"})
    assert (env.app_key, env.app_secret, env.env) == ("a", "b", "mock")


def test_approval_key_issued_once(fake, clock):
    auth = make_auth(fake, clock)
    assert {auth.get_approval_key() for _ in range(20)} == {"appr-1"}
    calls = fake.calls(APPROVAL_PATH)
    assert len(calls) == 1
    assert calls[0][4] == {"grant_type": "client_credentials", "appkey": "APPKEY", "secretkey": "SECRET"}
    assert fake.calls(TOKEN_PATH) == []  # independent of the access token


def test_module_functions_use_django_settings_and_cache(fake):
    kis = {"APP_KEY": "DJKEY", "APP_SECRET": "DJSECRET", "ENV": "real", "BASE_URL": fake.url}
    with override_settings(KIS=kis):
        assert kis_auth.get_approval_key() == "appr-1"
        assert kis_auth.get_access_token() == "tok-1"
        kis_auth.configure(None)  # a fresh process: instances forgotten...
        from markets.apps import MarketsConfig

        MarketsConfig.ready(None)  # type: ignore[arg-type]  # ...wiring registered again
        assert kis_auth.get_access_token() == "tok-1"  # ...the token comes from Django's cache
        key_id = KisConfig.from_mapping(kis).key_id
        assert cache.get(f"kis:token:{key_id}") == "tok-1"
    assert len(fake.calls(TOKEN_PATH)) == 1
    assert len(fake.calls(APPROVAL_PATH)) == 1
    assert fake.calls(TOKEN_PATH)[0][4]["appkey"] == "DJKEY"
