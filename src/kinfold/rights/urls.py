from django.urls import path

from kinfold.rights import views

app_name = "rights"
urlpatterns = [
    path("", views.home, name="home"),
    path("subject-access/find/", views.find_person, name="find-person"),
    path("subject-access/open/", views.open_request, name="open-request"),
    path("subject-access/<str:ref>/", views.subject_access, name="subject-access"),
    path("subject-access/<str:ref>/extend/", views.extend, name="extend"),
    path("subject-access/<str:ref>/release/", views.release, name="release"),
    path("subject-access/<str:ref>/export.json", views.export_json, name="export-json"),
    path("subject-access/<str:ref>/export.html", views.export_html, name="export-html"),
    path("requests/<str:ref>/", views.family_request, name="request"),
    path("unusual-access/", views.unusual_access, name="unusual-access"),
    path("publishing/<int:block_id>/resolve/", views.resolve_block, name="resolve-block"),
]
