from decimal import Context, Decimal

from django.db import connection


def stored(text: str) -> Decimal:
    """``text`` as the database hands it back: SQLite keeps decimals as floats and Django reads
    them with 15 significant digits; PostgreSQL keeps them exact (CI runs both)."""
    value = Decimal(text)
    return Context(prec=15).create_decimal_from_float(float(value)) if connection.vendor == "sqlite" else value
