from django.apps import AppConfig


class RightsConfig(AppConfig):
    name = "kinfold.rights"
    label = "rights"
    verbose_name = "Rights"
