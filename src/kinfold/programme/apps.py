from django.apps import AppConfig


class ProgrammeConfig(AppConfig):
    name = "kinfold.programme"
    label = "programme"
    verbose_name = "Programme"
