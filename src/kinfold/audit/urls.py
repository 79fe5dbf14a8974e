"""The public transparency pages of the audit log: the signing key and the signed checkpoints."""

from django.urls import URLPattern, path

from kinfold.audit import views

app_name = "audit"
urlpatterns: list[URLPattern] = [
    path("", views.public_log, name="public-log"),
    path("checkpoints.json", views.checkpoints_json, name="checkpoints-json"),
    path("checkpoint.txt", views.latest_checkpoint_note, name="checkpoint-note"),
    path("consistency.json", views.consistency_json, name="consistency-json"),
]
