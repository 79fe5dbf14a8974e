from django.urls import path

from kinfold.programme import views

app_name = "programme"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("identification/", views.runs, name="runs"),
    path("identification/<str:run_id>/", views.run, name="run"),
    path("families/", views.families, name="families"),
    path("families/<str:fid>/", views.family, name="family"),
    path("families/<str:fid>/move/", views.move, name="move"),
    path("claims/", views.claims, name="claims"),
    path("claims/prepare/", views.prepare, name="prepare"),
    path("claims/file/", views.claims_file, name="claims-file"),
    path("claims/samples/", views.samples, name="samples"),
    path("claims/sample/", views.draw_sample, name="draw-sample"),
    path("claims/sample/<str:quarter>/", views.sample, name="sample"),
    path("claims/sample/<str:quarter>/<int:check_id>/", views.spot_check, name="spot-check"),
    path("claims/<str:claim_id>/", views.claim, name="claim"),
    path("claims/<str:claim_id>/sign-off/", views.sign_off, name="sign-off"),
]
