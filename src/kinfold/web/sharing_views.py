"""Staff pages for the grounds of sharing: consent (and its receipt), lawful overrides, referrals.

Every change is a POST with CSRF; every page works without JavaScript. Personal data comes only
from `kinfold.access` (scripts/lint_model_usage.py checks this module too).
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any, cast

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from kinfold.access import consents as consent_access
from kinfold.access import overrides as override_access
from kinfold.access import referrals as referral_access
from kinfold.access import services as access
from kinfold.consent import receipts
from kinfold.errors import KinfoldError, NotPermitted
from kinfold.web import forms, presenters
from kinfold.web.views import roles

if TYPE_CHECKING:
    from kinfold.staff.models import User


def _staff(request: HttpRequest) -> User:
    """The signed-in member of staff (the `roles` decorator has checked there is one)."""
    return cast("User", request.user)


#: The session key under which the family portal keeps who is signed in (kinfold.portal.views).
PORTAL_SESSION_KEY = "kinfold_portal"


_FID = re.compile(r"[A-Za-z0-9]{1,32}")


def _back(request: HttpRequest, default: str = "web:home") -> HttpResponse:
    """Back to the family page named in the form (never an arbitrary address), or `default`."""
    fid = request.POST.get("family") or request.GET.get("family") or ""
    return redirect("web:family", fid=fid) if _FID.fullmatch(fid) else redirect(default)


def _errors_to_form(form: Any, exc: KinfoldError) -> None:
    """A mistake in the form is shown beside its field; a refusal by the policy is a 403."""
    if isinstance(exc, NotPermitted) and not isinstance(exc, referral_access.ReferralRefused):
        raise exc
    field = exc.location.field
    form.add_error(field if field in form.fields else None, exc.message)


def _end_of(day: Any) -> datetime:
    return datetime.combine(day, time(23, 59), timezone.get_current_timezone())


# ---------------------------------------------------------------------------- consent


@require_http_methods(["GET", "POST"])
@roles("key_worker")
def consent_new(request: HttpRequest, fid: str) -> HttpResponse:
    user = _staff(request)
    try:
        options = consent_access.options(user, fid)
    except access.NotFound as exc:
        raise Http404("No such family") from exc
    form = forms.ConsentForm(options, request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        entry = consent_access.ConsentForm(
            pid=data["pid"],
            recipient=data["recipient"],
            categories=list(data["categories"]),
            providers=list(data["providers"]),
            method=data["method"],
            given_by=data["given_by"],
            given_by_pid=data["given_by_pid"] if data["given_by"] == "parent" else "",
            child_view=data["child_view"],
            child_view_note=data["child_view_note"],
            competent=True if data["competent"] else None,
            notice_version=data["notice_version"],
            evidence_ref=data["evidence_ref"],
            valid_until=_end_of(data["valid_until"]) if data["valid_until"] else None,
            refused=data["state"] == "refused",
        )
        try:
            receipt_id = consent_access.record(user, fid, entry)
        except KinfoldError as exc:
            _errors_to_form(form, exc)
        else:
            word = "refusal" if entry.refused else "consent"
            messages.success(request, f"The {word} is recorded. Give the family their receipt.")
            return redirect("web:consent-receipt", receipt_id=receipt_id)
    return render(
        request,
        "web/consent_form.html",
        {"form": form, "fid": fid, "options": options, "errors": presenters.form_errors(form)},
    )


@require_http_methods(["GET", "POST"])
@roles("key_worker")
def consent_withdraw(request: HttpRequest, record_id: str) -> HttpResponse:
    user = _staff(request)
    try:
        rows = consent_access.rows_for_withdrawal(user, str(record_id))
    except access.NotFound as exc:
        raise Http404("No such consent") from exc
    fid = request.GET.get("family") or request.POST.get("family") or ""
    fid = fid if _FID.fullmatch(fid) else ""
    form = forms.NoteForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and rows:
        consent_access.withdraw(user, str(record_id), form.cleaned_data["note"])
        messages.success(
            request,
            f"Consent for {rows[0].category.lower()} is withdrawn: nothing more is shown from now.",
        )
        return _back(request, "web:families")
    return render(request, "web/consent_withdraw.html", {"rows": rows, "form": form, "fid": fid})


def _portal_pid(request: HttpRequest) -> str:
    """The family member signed in to the portal with an open account, or ''."""
    data = request.session.get(PORTAL_SESSION_KEY)
    if not isinstance(data, dict) or not data.get("pid"):
        return ""
    from kinfold.portal import services as portal_services

    pid = str(data["pid"])
    return pid if portal_services.account_open(pid) else ""


def _receipt(request: HttpRequest, receipt_id: str) -> receipts.Receipt:
    """A receipt for signed-in staff (policy-checked) or the family member signed in to the
    portal whose receipt it is (theirs or their child's)."""
    try:
        if request.user.is_authenticated:
            return consent_access.receipt_for_staff(_staff(request), receipt_id)
        pid = _portal_pid(request)
        if pid:
            from kinfold.access import portal as portal_access

            account = portal_access.PortalUser(pid)
            pids = portal_access.scope(account).pids
            return consent_access.receipt_for_family(account.actor, pids, receipt_id)
    except access.NotFound as exc:
        raise Http404("No such receipt") from exc
    raise Http404("No such receipt")


def consent_receipt(request: HttpRequest, receipt_id: str) -> HttpResponse:
    """The consent receipt (HTML), for the key worker or the family. Links to PDF and JSON."""
    if not request.user.is_authenticated and PORTAL_SESSION_KEY not in request.session:
        return redirect(f"/sign-in/?next={request.path}")
    made = _receipt(request, str(receipt_id))
    return render(request, "web/consent_receipt.html", {"receipt": made})


def consent_receipt_json(request: HttpRequest, receipt_id: str) -> HttpResponse:
    made = _receipt(request, str(receipt_id))
    response = JsonResponse(made.document, json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'inline; filename="consent-receipt-{made.receipt_id}.json"'
    return response


def consent_receipt_pdf(request: HttpRequest, receipt_id: str) -> HttpResponse:
    made = _receipt(request, str(receipt_id))
    response = HttpResponse(receipts.as_pdf(made), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="consent-receipt-{made.receipt_id}.pdf"'
    return response


# ---------------------------------------------------------------------------- overrides


@require_http_methods(["GET", "POST"])
@roles("key_worker", "team_manager")
def override_new(request: HttpRequest, fid: str) -> HttpResponse:
    user = _staff(request)
    purpose = "safeguarding"
    try:
        choices = override_access.proposal_choices(user, fid, purpose)
    except access.NotFound as exc:
        raise Http404("No such family") from exc
    initial = {"expires_on": (timezone.now() + timedelta(days=14)).date().isoformat()}
    form = forms.OverrideForm(
        choices.members, choices.categories, choices.partners, request.POST or None, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        entry = override_access.OverrideForm(
            categories=list(data["categories"]),
            partners=list(data["partners"]),
            justification=data["justification"],
            expires_at=_end_of(data["expires_on"]),
            pid=data["pid"],
            purpose=purpose,
            tell_family=data["tell_family"] == "yes",
            not_told_reason=data["not_told_reason"],
        )
        try:
            row = override_access.propose(user, fid, entry)
        except KinfoldError as exc:
            if exc.location.field == "expires_at":
                exc.location.field = "expires_on"
            _errors_to_form(form, exc)
        else:
            messages.success(
                request,
                f"Override {row.short_id} is proposed. A team manager or the data protection "
                "officer must approve it before anything is shared.",
            )
            return redirect("web:family", fid=fid)
    return render(
        request,
        "web/override_form.html",
        {"form": form, "fid": fid, "errors": presenters.form_errors(form)},
    )


@roles("team_manager", "dpo")
def overrides(request: HttpRequest) -> HttpResponse:
    rows = override_access.register(_staff(request))
    waiting = [r for r in rows if r.state == "proposed"]
    return render(request, "web/overrides.html", {"rows": rows, "waiting": waiting})


@require_http_methods(["GET", "POST"])
@roles("team_manager", "dpo")
def override_detail(request: HttpRequest, override_id: str) -> HttpResponse:
    user = _staff(request)
    try:
        row = override_access.detail(user, str(override_id))
    except access.NotFound as exc:
        raise Http404("No such override") from exc
    form = forms.DecideForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        approve = form.cleaned_data["decision"] == "approve"
        try:
            row = override_access.decide(user, str(override_id), approve, form.cleaned_data["note"])
        except KinfoldError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, f"Override {row.short_id} is {row.state_label.lower()}.")
            return redirect("web:override", override_id=override_id)
    return render(
        request,
        "web/override.html",
        {
            "row": row,
            "form": form,
            "end_form": forms.NoteForm(),
            "errors": presenters.form_errors(form),
        },
    )


@require_POST
@roles("key_worker", "team_manager", "dpo")
def override_end(request: HttpRequest, override_id: str) -> HttpResponse:
    user = _staff(request)
    form = forms.NoteForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        row = override_access.end(user, str(override_id), note or "ended early")
    except access.NotFound as exc:
        raise Http404("No such override") from exc
    except NotPermitted:
        raise
    except KinfoldError as exc:
        messages.error(request, exc.message)
        return _back(request, "web:overrides")
    messages.success(
        request, f"Override {row.short_id} has ended. Nothing more is shared under it."
    )
    return _back(request, "web:overrides")


# ---------------------------------------------------------------------------- referrals


@require_http_methods(["GET", "POST"])
@roles("key_worker")
def referral_new(request: HttpRequest, fid: str) -> HttpResponse:
    """Step 1 (no `to`): choose the partner. Step 2: choose what to send, and write the message."""
    user = _staff(request)
    purpose = request.GET.get("purpose") or "service-coordination"
    to = request.GET.get("to", "")
    try:
        choices = referral_access.choices(user, fid, purpose)
    except access.NotFound as exc:
        raise Http404("No such family") from exc
    destination = next(
        (d for d in choices.destinations if d.slug == to and d.purpose == purpose), None
    )
    if destination is None:
        return render(request, "web/referral_to.html", {"fid": fid, "choices": choices})
    items = [
        (f"{pid}|{slug}", f"{label}: {name}")
        for pid, label in choices.members
        for slug, name in destination.categories
    ]
    form = forms.ReferralForm(items, request.POST or None)
    refused: list[tuple[str, str, str]] = []
    if request.method == "POST" and form.is_valid():
        pairs = [tuple(v.split("|", 1)) for v in form.cleaned_data["items"]]
        try:
            referral_id = referral_access.send(
                user,
                fid,
                recipient=destination.slug,
                purpose=purpose,
                items=[(p, c) for p, c in pairs],
                message=form.cleaned_data["message"],
            )
        except referral_access.ReferralRefused as exc:
            refused = exc.refused
            form.add_error(
                "items", "Some of this may not be sent: remove it, or record consent first."
            )
        except KinfoldError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, f"The referral to {destination.name} is sent.")
            return redirect("web:referral", referral_id=referral_id)
    return render(
        request,
        "web/referral_form.html",
        {
            "form": form,
            "fid": fid,
            "destination": destination,
            "refused": refused,
            "errors": presenters.form_errors(form),
        },
    )


@roles("partner_practitioner")
def referrals(request: HttpRequest) -> HttpResponse:
    rows = referral_access.inbox(_staff(request))
    return render(request, "web/referrals.html", {"rows": rows})


@roles("partner_practitioner", "key_worker")
def referral(request: HttpRequest, referral_id: str) -> HttpResponse:
    try:
        view = referral_access.view(_staff(request), str(referral_id))
    except access.NotFound as exc:
        raise Http404("No such referral") from exc
    return render(
        request,
        "web/referral.html",
        {
            "referral": view,
            "items": [presenters.referral_item(i) for i in view.items],
            "form": forms.RespondForm(),
            "note_form": forms.NoteForm(),
        },
    )


@require_POST
@roles("partner_practitioner")
def referral_respond(request: HttpRequest, referral_id: str) -> HttpResponse:
    form = forms.RespondForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose what to do with the referral.")
        return redirect("web:referral", referral_id=referral_id)
    try:
        state = referral_access.respond(
            _staff(request), str(referral_id), form.cleaned_data["to"], form.cleaned_data["note"]
        )
    except access.NotFound as exc:
        raise Http404("No such referral") from exc
    except NotPermitted:
        raise
    except KinfoldError as exc:
        messages.error(request, exc.message)
        return redirect("web:referral", referral_id=referral_id)
    messages.success(request, f"The referral is {state}.")
    if state in ("rejected", "done"):
        return redirect("web:referrals")
    return redirect("web:referral", referral_id=referral_id)


@require_POST
@roles("key_worker")
def referral_revoke(request: HttpRequest, referral_id: str) -> HttpResponse:
    form = forms.NoteForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        referral_access.revoke(_staff(request), str(referral_id), note)
    except access.NotFound as exc:
        raise Http404("No such referral") from exc
    except NotPermitted:
        raise
    except KinfoldError as exc:
        messages.error(request, exc.message)
        return redirect("web:referral", referral_id=referral_id)
    messages.success(request, "The referral is withdrawn: the partner no longer sees it.")
    return redirect("web:referral", referral_id=referral_id)
