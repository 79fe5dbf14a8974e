from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "kinfold.portal"
    label = "portal"
    verbose_name = "Portal"
