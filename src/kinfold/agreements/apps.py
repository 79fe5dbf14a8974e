from django.apps import AppConfig


class AgreementsConfig(AppConfig):
    name = "kinfold.agreements"
    label = "agreements"
    verbose_name = "Agreements"
