from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "kinfold.audit"
    label = "audit"
    verbose_name = "Audit"
