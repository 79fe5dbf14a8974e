from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "kinfold.web"
    label = "web"
    verbose_name = "Web"
