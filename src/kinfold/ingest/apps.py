from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "kinfold.ingest"
    label = "ingest"
    verbose_name = "Ingest"
