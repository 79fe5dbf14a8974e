"""Staff pages and the public transparency pages.

Views call services; personal data comes only from `kinfold.access` (see scripts/lint_model_usage.py).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from kinfold.access import consents as consent_access
from kinfold.access import services as access
from kinfold.access.house import HOUSE_POLICY
from kinfold.agreements import queries as agreements
from kinfold.agreements.cedar import SCHEMA
from kinfold.errors import KinfoldError
from kinfold.staff import services as staff
from kinfold.web import forms, presenters
from kinfold.web.context_processors import ROLE_PAGES

View = Callable[..., HttpResponse]

#: The purpose a staff page serves. Key workers coordinate support; others identify and allocate.
PURPOSE_BY_ROLE = {
    "key_worker": "service-coordination",
    "team_manager": "identification",
    "analyst": "identification",
}


def roles(*allowed: str) -> Callable[[View], View]:
    """Only signed-in staff with one of `allowed` roles; others get 403 (never a silent redirect)."""

    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.user.role not in allowed:  # type: ignore[union-attr]
                access.record_refused_page(request.user, request.path)  # type: ignore[arg-type]
                raise PermissionDenied("Your role does not use this page.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("web:transparency")
    pages = ROLE_PAGES.get(request.user.role, ())
    return redirect(pages[0][1]) if pages else redirect("web:transparency")


class SignInView(auth_views.LoginView):
    template_name = "web/sign_in.html"
    form_class = forms.SignInForm
    redirect_authenticated_user = True


def sign_out_confirm(request: HttpRequest) -> HttpResponse:
    return render(request, "web/sign_out.html")


class SignOutView(auth_views.LogoutView):
    http_method_names = ["post", "options"]


@roles("key_worker", "team_manager", "analyst")
def families(request: HttpRequest) -> HttpResponse:
    user = request.user
    purpose = PURPOSE_BY_ROLE[user.role]  # type: ignore[union-attr]
    summaries = access.families_for(user, purpose)  # type: ignore[arg-type]
    return render(request, "web/families.html", {"families": summaries, "purpose": purpose})


@roles("key_worker", "team_manager", "analyst")
def family(request: HttpRequest, fid: str) -> HttpResponse:
    user = request.user
    purpose = PURPOSE_BY_ROLE[user.role]  # type: ignore[union-attr]
    role = user.role  # type: ignore[union-attr]
    try:
        # one audit append for the whole page: every part's decision, written before it renders
        with access.audit_batch() as batch:
            view = access.family_view(user, fid, purpose, batch=batch)  # type: ignore[arg-type]
            sharing = (
                consent_access.family_sharing(user, fid, purpose, batch=batch)  # type: ignore[arg-type]
                if role in ("key_worker", "team_manager")
                else None
            )
    except access.NotFound as exc:
        raise Http404("No such family") from exc
    names = {m.pid: presenters.person_label(view, m.pid) for m in view.members}
    context = {
        "family": view,
        "contact_why": presenters.why(view.contact_decision),
        "purpose_name": agreements.purpose_name(purpose),
        "panels": [presenters.source_panel(view, s) for s in view.sources],
        "can_allocate": role == "team_manager",
        "allocate_form": forms.AllocateForm() if role == "team_manager" else None,
        "sharing": sharing,
        "consent_groups": presenters.consent_groups(sharing.consents, names) if sharing else [],
        "is_key_worker": role == "key_worker",
        "can_propose": role in ("key_worker", "team_manager"),
    }
    return render(request, "web/family.html", context)


@require_POST
@roles("team_manager")
def allocate(request: HttpRequest, fid: str) -> HttpResponse:
    form = forms.AllocateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a key worker to allocate.")
        return redirect("web:family", fid=fid)
    try:
        staff.allocate(request.user, fid, form.cleaned_data["key_worker"])  # type: ignore[arg-type]
    except access.NotFound as exc:
        raise Http404("No such family") from exc
    messages.success(
        request, f"Family {fid} allocated to {form.cleaned_data['key_worker'].display_name}."
    )
    return redirect("web:family", fid=fid)


@roles("dpo")
def audit_log(request: HttpRequest) -> HttpResponse:
    form = forms.AuditFilterForm(request.GET or None)
    filters = access.AuditFilters(**form.cleaned_data) if form.is_valid() else access.AuditFilters()
    page = access.audit_log(request.user, filters, before=_cursor(request))  # type: ignore[arg-type]
    rows = [presenters.audit_row(e) for e in page.entries]
    older = presenters.query_with(request.GET, before=page.next_before) if page.next_before else ""
    return render(request, "web/audit_log.html", {"form": form, "rows": rows, "older": older})


@roles("admin")
def staff_list(request: HttpRequest) -> HttpResponse:
    return render(request, "web/staff.html", {"people": staff.staff_directory()})


def transparency(request: HttpRequest) -> HttpResponse:
    return render(request, "web/transparency.html", {"agreements": agreements.published()})


def agreement(request: HttpRequest, slug: str, version: int | None = None) -> HttpResponse:
    """An agreement in plain English beside the exact policy that enforces it (public)."""
    published = agreements.published_agreement(slug, version)
    if published is None:
        raise Http404("No such agreement")
    return render(request, "web/agreement.html", {"agreement": published})


def agreement_policy(request: HttpRequest, slug: str, version: int) -> HttpResponse:
    """The exact Cedar text a version enforces, as a file anyone can download and check."""
    text = agreements.policy_text(slug, version)
    if not text:
        raise Http404("No such agreement")
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{slug}-v{version}.cedar"'
    return response


def house_rules(request: HttpRequest) -> HttpResponse:
    """kinfold's own access rules, enforced beside every agreement (public)."""
    return render(request, "web/house_rules.html", {"policy": HOUSE_POLICY, "schema": SCHEMA})


def privacy(request: HttpRequest) -> HttpResponse:
    return render(request, "web/privacy.html", {"categories": agreements.categories()})


def accessibility(request: HttpRequest) -> HttpResponse:
    return render(request, "web/accessibility.html")


def _cursor(request: HttpRequest) -> int | None:
    try:
        return max(1, int(request.GET["before"]))
    except (KeyError, ValueError):
        return None


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    reason = str(exception) if isinstance(exception, (PermissionDenied, KinfoldError)) else ""
    return render(request, "web/403.html", {"reason": reason}, status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "web/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "web/500.html", status=500)
