"""The partner API (OpenAPI 3, a token per organisation): not built yet; see DESIGN.md."""

from django.urls import URLPattern

app_name = "api"
urlpatterns: list[URLPattern] = []
