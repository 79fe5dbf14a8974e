from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "kinfold.staff"
    label = "staff"
    verbose_name = "Staff"
