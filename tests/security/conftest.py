from tests.markets.conftest import replay_board, upbit_daily  # noqa: F401  (fixtures)
from tests.trading.conftest import btc, coins  # noqa: F401  (fixtures)
