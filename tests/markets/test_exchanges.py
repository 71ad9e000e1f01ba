"""The venue registry (markets/exchanges.py) is the one place a venue's facts live: the model
choices, the trading defaults, the tick tables, the live sources and the status hosts derive
from it."""

from decimal import Decimal

from django.conf import settings

from markets import exchanges
from markets.management.commands import stream_tickers
from markets.models import Exchange, Instrument
from markets.selectors import KNOWN_HOSTS, STREAM_QUOTES
from markets.sources import CCXT_EXCHANGES
from trading import rules


def test_exchange_choices_are_the_registry_in_order():
    assert Exchange.choices == [(v.id, v.label) for v in exchanges.VENUES]
    assert Exchange.UPBIT == "upbit" and Exchange.BINANCEUSDM.label == "Binance USD-M"
    assert Instrument._meta.get_field("exchange").choices == Exchange.choices


def test_ids_are_unique_and_lower_case():
    ids = [v.id for v in exchanges.VENUES]
    assert len(ids) == len(set(ids))
    assert all(i == i.lower() and i.isidentifier() for i in ids)


def test_trading_defaults_come_from_the_registry():
    fees = settings.TRADING["FEE_BPS"]
    assert set(fees) == {v.id for v in exchanges.VENUES}
    assert fees["upbit"] == Decimal("5") and fees["krx"] == Decimal("1.5")
    boundaries = settings.TRADING["BOT_DAY_BOUNDARY"]
    assert boundaries["upbit"] == "09:00" and boundaries["default"] == "00:00"
    assert "krx" not in boundaries  # KRX days are sessions


def test_every_crypto_venue_has_a_day_boundary_and_krx_has_none():
    for v in exchanges.VENUES:
        assert (v.day_boundary is None) == (v.market == exchanges.KRX), v.id


def test_tick_tables_follow_the_registry():
    assert rules.tick_size(exchange="krx", quote="KRW", price=Decimal("55000")) == Decimal("100")
    assert rules.tick_size(exchange="upbit", quote="KRW", price=Decimal("1500")) == Decimal("1")
    # a venue without a table: any price (None), unless the instrument stores its own tick
    assert rules.tick_size(exchange="bithumb", quote="KRW", price=Decimal("1500")) is None
    assert rules.tick_size(
        exchange="bybit", quote="USDT", price=Decimal("1"), instrument_tick=Decimal("0.1")
    ) == Decimal("0.1")
    assert rules.tick_size(exchange="nowhere", quote="KRW", price=Decimal("1500")) is None


def test_live_sources_and_hosts_come_from_the_registry():
    assert CCXT_EXCHANGES == exchanges.ccxt_rest_ids()
    assert stream_tickers.LIVE_SOURCES == list(exchanges.ccxt_rest_ids())
    assert stream_tickers.WS_EXCHANGES == list(exchanges.websocket_ids())
    assert set(exchanges.websocket_ids()) == {"upbit", "bithumb", "binanceusdm", "bybit"}
    assert STREAM_QUOTES["binanceusdm"] == "USDT" and STREAM_QUOTES["upbit"] == "KRW"
    assert set(KNOWN_HOSTS) == {"upbit", "bithumb", "binanceusdm", "bybit", "bitmex"}


def test_every_websocket_venue_has_a_protocol():
    from markets.sources import ws_protocols

    for venue_id in exchanges.websocket_ids():
        assert venue_id in ws_protocols.PROTOCOLS, venue_id
