"""URL map: staff pages and public transparency pages (web), the family portal, the partner API."""

from django.urls import include, path

urlpatterns = [
    path("transparency/audit-log/", include("kinfold.audit.urls")),
    path("portal/", include("kinfold.portal.urls")),
    path("api/", include("kinfold.api.urls")),
    path("dpo/", include("kinfold.rights.urls")),
    path("programme/", include("kinfold.programme.urls")),
    path("", include("kinfold.web.urls")),
]

handler403 = "kinfold.web.views.permission_denied"
handler404 = "kinfold.web.views.page_not_found"
handler500 = "kinfold.web.views.server_error"
