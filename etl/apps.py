from django.apps import AppConfig


class EtlConfig(AppConfig):
    name = "etl"
    verbose_name = "Taker volume ETL"
