"""KIS REST quotations client against a local fake KIS REST server.

No recorded KIS REST response exists: every payload below is shaped as KIS documents it (the
paths, tr_ids, parameters and response field names of the official samples,
github.com/koreainvestment/open-trading-api ``examples_llm/domestic_stock/*`` and
``examples_llm/domestic_futureoption/*``, ``chk_*.py`` column lists); the values are made up
for the tests and are not market data. Pacing is checked on a fake clock, never wall time.
"""

from datetime import date, datetime
from decimal import Decimal

import pytest

from markets.sources.kis.auth import SEOUL, KisAuth, KisConfig, KisError, KisNetworkError, MemoryCache
from markets.sources.kis.rest import (
    FO_ASKING_PRICE,
    FO_DAILY_CHART,
    FO_MINUTE_CHART,
    FO_OPTION_BOARD,
    FO_PRICE,
    STOCK_DAILY_CHART,
    STOCK_PRICE,
    KisRestClient,
    TokenBucket,
    bucket_for,
)
from tests.kis.fake_rest import TOKEN_PATH, FakeKis, token_reply

NOW = datetime(2025, 7, 18, 14, 3, 40, tzinfo=SEOUL)
RATE_LIMITED = (500, {"rt_cd": "1", "msg_cd": "EGW00201", "msg1": "초당 거래건수를 초과하였습니다."})


def ok(**outputs):
    return 200, {"rt_cd": "0", "msg_cd": "MCA00000", "msg1": "정상처리 되었습니다.", **outputs}


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def fake():
    server = FakeKis().start()
    server.default[TOKEN_PATH] = token_reply("tok-rest")
    yield server
    server.stop()


@pytest.fixture
def clock():
    return FakeClock()


def client_for(fake, clock, env="real", **config) -> KisRestClient:
    cfg = KisConfig(app_key="APPKEY", app_secret="SECRET", env=env, base_url=fake.url, **config)
    auth = KisAuth(cfg, MemoryCache(clock), clock=clock, sleep=clock.sleep)
    bucket = TokenBucket(cfg.requests_per_second, clock=clock, sleep=clock.sleep)
    return KisRestClient(auth, bucket=bucket, sleep=clock.sleep, now=lambda: NOW)


STOCK_OUTPUT = {
    "stck_shrn_iscd": "005930",
    "stck_prpr": "71500",
    "prdy_vrss": "-500",
    "prdy_vrss_sign": "5",
    "prdy_ctrt": "-0.69",
    "stck_oprc": "72000",
    "stck_hgpr": "72300",
    "stck_lwpr": "71200",
    "acml_vol": "10234567",
    "acml_tr_pbmn": "732845612000",
    "stck_mxpr": "93600",
    "stck_llam": "50400",
    "aspr_unit": "100",
}


def test_request_headers_and_params(fake, clock):
    fake.script(STOCK_PRICE[0], ok(output=STOCK_OUTPUT))
    client_for(fake, clock).stock_price("005930")
    method, path, query, headers, _ = fake.calls(STOCK_PRICE[0])[0]
    assert (method, path) == ("GET", "/uapi/domestic-stock/v1/quotations/inquire-price")
    assert query == {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
    assert headers["authorization"] == "Bearer tok-rest"
    assert (headers["appkey"], headers["appsecret"]) == ("APPKEY", "SECRET")
    assert (headers["tr_id"], headers["custtype"]) == ("FHKST01010100", "P")


def test_stock_price_fields(fake, clock):
    fake.script(STOCK_PRICE[0], ok(output=STOCK_OUTPUT))
    price = client_for(fake, clock).stock_price("005930")
    assert price.code == "005930"
    assert price.price == Decimal("71500") and isinstance(price.price, Decimal)
    assert (price.change, price.change_rate) == (Decimal("-500"), Decimal("-0.69"))
    assert (price.open, price.high, price.low) == (Decimal("72000"), Decimal("72300"), Decimal("71200"))
    assert price.volume == 10234567
    assert price.traded_value == Decimal("732845612000")
    assert (price.upper_limit, price.lower_limit, price.tick_size) == (
        Decimal("93600"),
        Decimal("50400"),
        Decimal("100"),
    )
    assert price.received == NOW and price.received.tzinfo is SEOUL
    assert price.raw["prdy_vrss_sign"] == "5"


def test_stock_daily_chart_fields(fake, clock):
    rows = [
        {"stck_bsop_date": "20250718", "stck_clpr": "71500", "stck_oprc": "72000", "stck_hgpr": "72300",
         "stck_lwpr": "71200", "acml_vol": "10234567", "acml_tr_pbmn": "732845612000", "mod_yn": "N"},
        {"stck_bsop_date": "20250717", "stck_clpr": "72000", "stck_oprc": "71000", "stck_hgpr": "72100",
         "stck_lwpr": "70900", "acml_vol": "9000000", "acml_tr_pbmn": "645000000000", "mod_yn": "N"},
        {"stck_bsop_date": "", "stck_clpr": "", "stck_oprc": "", "stck_hgpr": "", "stck_lwpr": "", "acml_vol": ""},
    ]  # fmt: skip
    fake.script(STOCK_DAILY_CHART[0], ok(output1={"hts_kor_isnm": "삼성전자"}, output2=rows))
    bars = client_for(fake, clock).stock_daily_chart("005930", date(2025, 7, 17), date(2025, 7, 18))
    query, headers = fake.calls(STOCK_DAILY_CHART[0])[0][2:4]
    assert headers["tr_id"] == "FHKST03010100"
    assert query == {
        "FID_COND_MRKT_DIV_CODE": "J",
        "FID_INPUT_ISCD": "005930",
        "FID_INPUT_DATE_1": "20250717",
        "FID_INPUT_DATE_2": "20250718",
        "FID_PERIOD_DIV_CODE": "D",
        "FID_ORG_ADJ_PRC": "0",
    }
    assert [b.time for b in bars] == [datetime(2025, 7, 17, tzinfo=SEOUL), datetime(2025, 7, 18, tzinfo=SEOUL)]
    last = bars[-1]
    assert (last.open, last.high, last.low, last.close) == tuple(
        Decimal(v) for v in ("72000", "72300", "71200", "71500")
    )
    assert (last.volume, last.traded_value) == (10234567, Decimal("732845612000"))


def test_fo_price_fields(fake, clock):
    output1 = {
        "hts_kor_isnm": "F 202509", "futs_prpr": "432.45", "futs_prdy_vrss": "2.10", "prdy_vrss_sign": "2",
        "futs_prdy_clpr": "430.35", "futs_prdy_ctrt": "0.49", "acml_vol": "151234", "acml_tr_pbmn": "16345678000000",
        "hts_otst_stpl_qty": "245678", "otst_stpl_qty_icdc": "-1234", "futs_oprc": "430.90", "futs_hgpr": "433.10",
        "futs_lwpr": "430.15", "futs_mxpr": "469.65", "futs_llam": "391.05", "basis": "0.85", "hts_thpr": "432.30",
        "futs_last_tr_date": "20250911", "acpr": "0.00", "delta_val": "", "gama": "", "theta": "", "vega": "",
        "rho": "", "hts_ints_vltl": "", "hist_vltl": "14.25",
    }  # fmt: skip
    fake.script(FO_PRICE[0], ok(output1=output1, output2={"bstp_nmix_prpr": "0"}, output3={"bstp_nmix_prpr": "431.60"}))
    fut = client_for(fake, clock).fo_price("101W09")
    query, headers = fake.calls(FO_PRICE[0])[0][2:4]
    assert headers["tr_id"] == "FHMIF10000000"
    assert query == {"FID_COND_MRKT_DIV_CODE": "F", "FID_INPUT_ISCD": "101W09"}
    assert (fut.code, fut.name, fut.price) == ("101W09", "F 202509", Decimal("432.45"))
    assert (fut.change, fut.change_rate, fut.prev_close) == (Decimal("2.10"), Decimal("0.49"), Decimal("430.35"))
    assert (fut.volume, fut.open_interest, fut.oi_change) == (151234, 245678, -1234)
    assert (fut.basis, fut.theoretical, fut.underlying) == (Decimal("0.85"), Decimal("432.30"), Decimal("431.60"))
    assert fut.last_trade_date == date(2025, 9, 11)
    assert fut.greeks.delta is None and fut.greeks.hist_vol == Decimal("14.25")


def test_fo_price_option_greeks(fake, clock):
    output1 = {"hts_kor_isnm": "C 202508 450.0", "futs_prpr": "1.23", "acpr": "450.00", "delta_val": "0.2512",
               "gama": "0.0213", "theta": "-0.1042", "vega": "0.3321", "rho": "0.0112", "hts_ints_vltl": "15.31"}  # fmt: skip
    fake.script(FO_PRICE[0], ok(output1=output1, output2={}, output3={}))
    opt = client_for(fake, clock).fo_price("201W08450", market="O")
    assert fake.calls(FO_PRICE[0])[0][2]["FID_COND_MRKT_DIV_CODE"] == "O"
    assert (opt.price, opt.strike) == (Decimal("1.23"), Decimal("450.00"))
    g = opt.greeks
    assert (g.delta, g.gamma, g.theta, g.vega, g.rho) == tuple(
        Decimal(v) for v in ("0.2512", "0.0213", "-0.1042", "0.3321", "0.0112")
    )
    assert g.implied_vol == Decimal("15.31")
    assert opt.underlying is None


def test_fo_asking_price_at_its_own_path(fake, clock):
    book = {"aspr_acpt_hour": "140338", "total_askp_rsqn": "812", "total_bidp_rsqn": "790"}
    for n in range(1, 6):
        book |= {f"futs_askp{n}": f"{432.45 + 0.05 * n:.2f}", f"askp_rsqn{n}": str(10 * n), f"askp_csnu{n}": str(n)}
        book |= {
            f"futs_bidp{n}": f"{432.45 - 0.05 * (n - 1):.2f}",
            f"bidp_rsqn{n}": str(11 * n),
            f"bidp_csnu{n}": str(n + 1),
        }
    book["futs_askp5"] = "0.00"  # an empty level
    fake.script(FO_ASKING_PRICE[0], ok(output1={"futs_prpr": "432.45", "hts_kor_isnm": "F 202509"}, output2=book))
    result = client_for(fake, clock).fo_asking_price("101W09")
    assert fake.calls(FO_PRICE[0]) == []  # the prototype's bug: it called the price path
    path, query, headers = fake.calls(FO_ASKING_PRICE[0])[0][1:4]
    assert path == "/uapi/domestic-futureoption/v1/quotations/inquire-asking-price"
    assert headers["tr_id"] == "FHMIF10010000"
    assert query == {"FID_COND_MRKT_DIV_CODE": "F", "FID_INPUT_ISCD": "101W09"}
    assert result.price == Decimal("432.45")
    assert [lv.price for lv in result.asks] == [
        Decimal("432.50"),
        Decimal("432.55"),
        Decimal("432.60"),
        Decimal("432.65"),
    ]
    assert (result.asks[0].size, result.asks[0].orders) == (10, 1)
    assert [lv.price for lv in result.bids][:2] == [Decimal("432.45"), Decimal("432.40")]
    assert (result.bids[1].size, result.bids[1].orders) == (22, 3)
    assert (result.total_ask_size, result.total_bid_size) == (812, 790)
    assert result.time == datetime(2025, 7, 18, 14, 3, 38, tzinfo=SEOUL)


def board_row(code, strike, price, atm):
    return {
        "optn_shrn_iscd": code, "acpr": strike, "optn_prpr": price, "optn_prdy_vrss": "-0.12", "optn_prdy_ctrt": "-3.10",
        "optn_bidp": price, "optn_askp": price, "acml_vol": "5123", "hts_otst_stpl_qty": "34567",
        "otst_stpl_qty_icdc": "120", "delta_val": "0.5012", "gama": "0.0301", "vega": "0.4102", "theta": "-0.2010",
        "rho": "0.0150", "hts_ints_vltl": "14.80", "hist_vltl": "13.10", "hts_thpr": price, "invl_val": "0.00",
        "tmvl_val": price, "atm_cls_name": atm,
    }  # fmt: skip


def test_option_board_calls_and_puts(fake, clock):
    calls = [board_row("201W08435", "435.00", "1.10", "OTM"), board_row("201W08432", "432.50", "2.35", "ATM")]
    puts = [board_row("301W08432", "432.50", "2.40", "ATM"), {"acpr": ""}]
    fake.script(FO_OPTION_BOARD[0], ok(output1=calls, output2=puts))
    board = client_for(fake, clock).option_board("202508")
    query, headers = fake.calls(FO_OPTION_BOARD[0])[0][2:4]
    assert headers["tr_id"] == "FHPIF05030100"
    assert query == {
        "FID_COND_MRKT_DIV_CODE": "O",
        "FID_COND_SCR_DIV_CODE": "20503",
        "FID_MRKT_CLS_CODE": "CO",
        "FID_MTRT_CNT": "202508",
        "FID_MRKT_CLS_CODE1": "PO",
        "FID_COND_MRKT_CLS_CODE": "",
    }
    assert [r.strike for r in board.calls] == [Decimal("432.50"), Decimal("435.00")]  # sorted by strike
    atm = board.calls[0]
    assert (atm.code, atm.price, atm.atm) == ("201W08432", Decimal("2.35"), "ATM")
    assert (atm.volume, atm.open_interest, atm.oi_change) == (5123, 34567, 120)
    assert (atm.greeks.delta, atm.greeks.implied_vol) == (Decimal("0.5012"), Decimal("14.80"))
    assert [r.code for r in board.puts] == ["301W08432"]  # the row without a strike is dropped


def test_fo_minute_chart(fake, clock):
    rows = [
        {"stck_bsop_date": "20250718", "stck_cntg_hour": "140300", "futs_prpr": "432.45", "futs_oprc": "432.30",
         "futs_hgpr": "432.50", "futs_lwpr": "432.25", "cntg_vol": "812", "acml_tr_pbmn": "87812345000"},
        {"stck_bsop_date": "20250718", "stck_cntg_hour": "140200", "futs_prpr": "432.30", "futs_oprc": "432.20",
         "futs_hgpr": "432.35", "futs_lwpr": "432.10", "cntg_vol": "640", "acml_tr_pbmn": "87100000000"},
    ]  # fmt: skip
    fake.script(FO_MINUTE_CHART[0], ok(output1={"futs_prpr": "432.45"}, output2=rows))
    bars = client_for(fake, clock).fo_minute_chart("101W09", date(2025, 7, 18), "140400")
    query, headers = fake.calls(FO_MINUTE_CHART[0])[0][2:4]
    assert headers["tr_id"] == "FHKIF03020200"
    assert query == {
        "FID_COND_MRKT_DIV_CODE": "F",
        "FID_INPUT_ISCD": "101W09",
        "FID_HOUR_CLS_CODE": "60",
        "FID_PW_DATA_INCU_YN": "Y",
        "FID_FAKE_TICK_INCU_YN": "N",
        "FID_INPUT_DATE_1": "20250718",
        "FID_INPUT_HOUR_1": "140400",
    }
    assert [b.time for b in bars] == [
        datetime(2025, 7, 18, 14, 2, tzinfo=SEOUL),
        datetime(2025, 7, 18, 14, 3, tzinfo=SEOUL),
    ]
    assert (bars[1].open, bars[1].high, bars[1].low, bars[1].close) == tuple(
        Decimal(v) for v in ("432.30", "432.50", "432.25", "432.45")
    )
    assert bars[1].volume == 812


def test_fo_daily_chart(fake, clock):
    rows = [{"stck_bsop_date": "20250718", "futs_prpr": "432.45", "futs_oprc": "430.90", "futs_hgpr": "433.10",
             "futs_lwpr": "430.15", "acml_vol": "151234", "acml_tr_pbmn": "16345678000000", "mod_yn": "N"}]  # fmt: skip
    fake.script(FO_DAILY_CHART[0], ok(output1={}, output2=rows))
    bars = client_for(fake, clock).fo_daily_chart("101W09", date(2025, 7, 1), date(2025, 7, 18))
    query, headers = fake.calls(FO_DAILY_CHART[0])[0][2:4]
    assert headers["tr_id"] == "FHKIF03020100"
    assert query == {
        "FID_COND_MRKT_DIV_CODE": "F",
        "FID_INPUT_ISCD": "101W09",
        "FID_INPUT_DATE_1": "20250701",
        "FID_INPUT_DATE_2": "20250718",
        "FID_PERIOD_DIV_CODE": "D",
    }
    (bar,) = bars
    assert bar.time == datetime(2025, 7, 18, tzinfo=SEOUL)
    assert (bar.open, bar.close, bar.volume) == (Decimal("430.90"), Decimal("432.45"), 151234)


# -- pacing and retries -------------------------------------------------------------------------


def test_token_bucket_paces_on_a_fake_clock(clock):
    bucket = TokenBucket(2.0, clock=clock, sleep=clock.sleep)
    waits = [bucket.acquire() for _ in range(5)]
    assert waits == [0.0, 0.5, 0.5, 0.5, 0.5]
    assert clock.now == pytest.approx(102.0)
    clock.now += 10  # idle: only `capacity` (1) token banked, no burst
    assert [bucket.acquire() for _ in range(2)] == [0.0, 0.5]


def test_token_bucket_capacity_allows_a_burst(clock):
    bucket = TokenBucket(20.0, capacity=3, clock=clock, sleep=clock.sleep)
    waits = [bucket.acquire() for _ in range(5)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3:] == pytest.approx([0.05, 0.05])


def test_client_calls_paced_per_env(fake, clock):
    fake.default[STOCK_PRICE[0]] = ok(output=STOCK_OUTPUT)
    mock = client_for(fake, clock, env="mock")
    for _ in range(4):
        mock.stock_price("005930")
    assert mock.bucket.waited == pytest.approx(1.5)  # 2/s: 3 waits of 0.5 s
    real = client_for(fake, clock, env="real")
    for _ in range(4):
        real.stock_price("005930")
    assert real.bucket.waited == pytest.approx(0.15)  # 20/s: 3 waits of 0.05 s
    assert len(fake.calls(TOKEN_PATH)) == 2  # one token per client's auth, reused for every call


def test_bucket_shared_per_app_key(fake, clock):
    a = KisAuth(KisConfig("KEY-A", "S", env="mock", base_url=fake.url), MemoryCache(clock))
    a2 = KisAuth(KisConfig("KEY-A", "S", env="mock", base_url=fake.url), MemoryCache(clock))
    b = KisAuth(KisConfig("KEY-B", "S", env="real", base_url=fake.url), MemoryCache(clock))
    assert bucket_for(a) is bucket_for(a2) is KisRestClient(a).bucket
    assert bucket_for(b) is not bucket_for(a)
    assert (bucket_for(a).rate, bucket_for(b).rate) == (2.0, 20.0)


def test_rate_limit_retried_then_success(fake, clock):
    fake.script(STOCK_PRICE[0], RATE_LIMITED, RATE_LIMITED, ok(output=STOCK_OUTPUT))
    client = client_for(fake, clock, rate_limit_wait=1.0)
    assert client.stock_price("005930").price == Decimal("71500")
    assert len(fake.calls(STOCK_PRICE[0])) == 3
    assert clock.slept.count(1.0) == 2  # the documented wait after each EGW00201


def test_rate_limit_gives_up_after_retries(fake, clock):
    fake.script(STOCK_PRICE[0], *[RATE_LIMITED] * 5)
    client = client_for(fake, clock, retries=2)
    with pytest.raises(KisError) as err:
        client.stock_price("005930")
    assert err.value.code == "EGW00201"
    assert len(fake.calls(STOCK_PRICE[0])) == 3


@pytest.mark.parametrize(
    "reply",
    [
        (200, {"rt_cd": "1", "msg_cd": "OPSQ0002", "msg1": "없는 서비스 코드 입니다"}),
        (500, {"rt_cd": "1", "msg_cd": "EGW00123", "msg1": "기간이 만료된 token 입니다."}),
        (200, {"rt_cd": "7", "msg_cd": "APBK0919", "msg1": "조회할 자료가 없습니다."}),
    ],
)
def test_other_error_codes_not_retried(fake, clock, reply):
    fake.script(STOCK_PRICE[0], reply, ok(output=STOCK_OUTPUT))
    client = client_for(fake, clock)
    with pytest.raises(KisError) as err:
        client.stock_price("005930")
    assert err.value.code == reply[1]["msg_cd"]
    assert err.value.message == reply[1]["msg1"]
    assert len(fake.calls(STOCK_PRICE[0])) == 1
    assert clock.slept == []


def test_expired_token_dropped_for_the_next_call(fake, clock):
    fake.script(TOKEN_PATH, token_reply("tok-1"), token_reply("tok-2"))
    expired = (500, {"rt_cd": "1", "msg_cd": "EGW00123", "msg1": "기간이 만료된 token 입니다."})
    fake.script(STOCK_PRICE[0], expired, ok(output=STOCK_OUTPUT))
    client = client_for(fake, clock)
    with pytest.raises(KisError):
        client.stock_price("005930")
    clock.now += 61  # past the reissue guard
    client.stock_price("005930")
    assert [c[3]["authorization"] for c in fake.calls(STOCK_PRICE[0])] == ["Bearer tok-1", "Bearer tok-2"]


def test_non_json_error_not_retried(fake, clock):
    fake.script(STOCK_PRICE[0], (502, "Bad Gateway"))
    client = client_for(fake, clock)
    with pytest.raises(KisError) as err:
        client.stock_price("005930")
    assert err.value.code in ("HTTP502", "BAD_RESPONSE")
    assert len(fake.calls(STOCK_PRICE[0])) == 1


def test_network_error_retried_then_success(fake, clock):
    fake.script(STOCK_PRICE[0], "drop", "drop", ok(output=STOCK_OUTPUT))
    client = client_for(fake, clock)
    assert client.stock_price("005930").price == Decimal("71500")
    assert len(fake.calls(STOCK_PRICE[0])) == 3
    assert clock.slept == [0.5, 1.0]  # capped exponential backoff


def test_network_error_gives_up(fake, clock):
    fake.script(STOCK_PRICE[0], *["drop"] * 5)
    client = client_for(fake, clock, retries=1)
    with pytest.raises(KisNetworkError):
        client.stock_price("005930")
    assert len(fake.calls(STOCK_PRICE[0])) == 2


def test_missing_price_is_an_error(fake, clock):
    fake.script(STOCK_PRICE[0], ok(output={"stck_prpr": ""}))
    with pytest.raises(KisError) as err:
        client_for(fake, clock).stock_price("005930")
    assert err.value.code == "BAD_RESPONSE"
