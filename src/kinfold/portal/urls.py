from django.urls import path

from kinfold.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.start, name="start"),
    path("sign-in/", views.sign_in, name="sign-in"),
    path("sign-in/code/", views.code, name="code"),
    path("sign-out/", views.sign_out, name="sign-out"),
    path("home/", views.home, name="home"),
    path("what-we-hold/", views.held, name="held"),
    path("who-looked/", views.history, name="history"),
    path("proof/<int:seq>.json", views.proof, name="proof"),
    path("consents/", views.consents, name="consents"),
    path("consents/<uuid:record_id>/withdraw/", views.withdraw, name="withdraw"),
    path("ask/", views.ask, name="ask"),
]
