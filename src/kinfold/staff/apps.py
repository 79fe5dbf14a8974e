from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "kinfold.staff"
    label = "staff"
    verbose_name = "Staff"

    def ready(self) -> None:
        from kinfold.staff import signals  # noqa: F401 - connects the sign-in audit receivers
