"""Factories of the ETL's bookkeeping rows (never of market data: minute rows come from
imports of recorded trades)."""

import factory
from django.utils import timezone

from etl.models import IngestRun, PairState


class IngestRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IngestRun

    exchange = "bitmex"
    symbol = "XBTUSD"
    kind = IngestRun.Kind.LIVE
    source = "GET /api/v1/trade"
    status = IngestRun.Status.FAILED
    started_at = factory.LazyFunction(timezone.now)
    finished_at = factory.LazyFunction(timezone.now)
    error = "ExtractNetworkError: bitmex: /api/v1/trade: ConnectionError: connection refused"


class PairStateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PairState
        django_get_or_create = ("exchange", "symbol")

    exchange = "bitmex"
    symbol = "XBTUSD"
    last_run = factory.SubFactory(IngestRunFactory)
    last_error = factory.SelfAttribute("last_run.error")
    last_error_at = factory.LazyFunction(timezone.now)
