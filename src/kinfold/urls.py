"""URL map: staff pages and public transparency pages (web), the family portal, the partner API."""

from django.urls import include, path

urlpatterns = [
    path("transparency/audit-log/", include("kinfold.audit.urls")),
    path("portal/", include("kinfold.portal.urls")),
    path("api/", include("kinfold.api.urls")),
    path("", include("kinfold.web.urls")),
]
