from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "kinfold.access"
    label = "access"
    verbose_name = "Access"
