import threading
from decimal import Context, Decimal

from django.db import connection, connections


def stored(text: str) -> Decimal:
    """``text`` as the database hands it back: SQLite keeps decimals as floats and Django reads
    them with 15 significant digits; PostgreSQL keeps them exact (CI runs both)."""
    value = Decimal(text)
    return Context(prec=15).create_decimal_from_float(float(value)) if connection.vendor == "sqlite" else value


def run_at_once(*calls):
    """Run the callables in threads released together by a barrier; return their results or
    the exceptions they raised, in order (for concurrency tests on PostgreSQL)."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:  # collected and asserted on by the test
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
