from django.urls import path

from kinfold.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.SignInView.as_view(), name="sign-in"),
    path("sign-out/", views.sign_out_confirm, name="sign-out-confirm"),
    path("sign-out/confirm/", views.SignOutView.as_view(), name="sign-out"),
    path("families/", views.families, name="families"),
    path("families/<str:fid>/", views.family, name="family"),
    path("families/<str:fid>/allocate/", views.allocate, name="allocate"),
    path("audit/", views.audit_log, name="audit-log"),
    path("referrals/", views.referrals, name="referrals"),
    path("staff/", views.staff_list, name="staff"),
    path("transparency/", views.transparency, name="transparency"),
    path("transparency/agreements/<slug:slug>/", views.agreement, name="agreement"),
    path("privacy/", views.privacy, name="privacy"),
    path("accessibility/", views.accessibility, name="accessibility"),
]
