from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "kinfold.consent"
    label = "consent"
    verbose_name = "Consent"
