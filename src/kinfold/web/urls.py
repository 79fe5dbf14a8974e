from django.urls import path

from kinfold.web import sharing_views as sharing
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
    path("families/<str:fid>/consent/new/", sharing.consent_new, name="consent-new"),
    path("families/<str:fid>/overrides/new/", sharing.override_new, name="override-new"),
    path("families/<str:fid>/referrals/new/", sharing.referral_new, name="referral-new"),
    path("consent/<uuid:record_id>/withdraw/", sharing.consent_withdraw, name="consent-withdraw"),
    path("consent/receipts/<uuid:receipt_id>/", sharing.consent_receipt, name="consent-receipt"),
    path(
        "consent/receipts/<uuid:receipt_id>/receipt.json",
        sharing.consent_receipt_json,
        name="consent-receipt-json",
    ),
    path(
        "consent/receipts/<uuid:receipt_id>/receipt.pdf",
        sharing.consent_receipt_pdf,
        name="consent-receipt-pdf",
    ),
    path("overrides/", sharing.overrides, name="overrides"),
    path("overrides/<uuid:override_id>/", sharing.override_detail, name="override"),
    path("overrides/<uuid:override_id>/end/", sharing.override_end, name="override-end"),
    path("audit/", views.audit_log, name="audit-log"),
    path("referrals/", sharing.referrals, name="referrals"),
    path("referrals/<uuid:referral_id>/", sharing.referral, name="referral"),
    path(
        "referrals/<uuid:referral_id>/respond/",
        sharing.referral_respond,
        name="referral-respond",
    ),
    path("referrals/<uuid:referral_id>/revoke/", sharing.referral_revoke, name="referral-revoke"),
    path("staff/", views.staff_list, name="staff"),
    path("transparency/", views.transparency, name="transparency"),
    path("transparency/agreements/<slug:slug>/", views.agreement, name="agreement"),
    path(
        "transparency/agreements/<slug:slug>/v<int:version>/",
        views.agreement,
        name="agreement-version",
    ),
    path(
        "transparency/agreements/<slug:slug>/v<int:version>/policy.cedar",
        views.agreement_policy,
        name="agreement-policy",
    ),
    path("transparency/house-rules/", views.house_rules, name="house-rules"),
    path("privacy/", views.privacy, name="privacy"),
    path("accessibility/", views.accessibility, name="accessibility"),
]
