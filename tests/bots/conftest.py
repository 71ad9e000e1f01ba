"""The bots trade on the same fixtures as the books: the replayed Upbit board and the KRX top 50."""

from tests.trading.conftest import btc, coins, krx  # noqa: F401  (fixtures)
