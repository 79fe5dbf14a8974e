"""The family portal's pages. Personal data comes only from `kinfold.access.portal`.

Portal sign-in lives in its own session key: a family member is not a staff `User`, and a staff
sign-in never grants a portal view (nor the other way round).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from kinfold.access import portal as access
from kinfold.access.services import NotFound
from kinfold.agreements import queries as agreements
from kinfold.audit import checkpoints
from kinfold.errors import KinfoldError
from kinfold.portal import forms, presenters, services
from kinfold.rights import services as rights

SESSION_KEY = "kinfold_portal"
PENDING_KEY = "kinfold_portal_pending"
IDLE_SECONDS = 30 * 60

View = Callable[..., HttpResponse]


def signed_in(request: HttpRequest) -> access.PortalUser | None:
    data = request.session.get(SESSION_KEY)
    if not isinstance(data, dict) or not data.get("pid"):
        return None
    return access.PortalUser(str(data["pid"]))


def portal_required(view: View) -> View:
    """Only a signed-in family member whose account is still open; others go to sign in."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = signed_in(request)
        if user is None or not services.account_open(user.pid):
            request.session.pop(SESSION_KEY, None)
            return redirect("portal:sign-in")
        request.session.set_expiry(IDLE_SECONDS)
        try:
            return view(request, user, *args, **kwargs)
        except NotFound as exc:
            raise Http404("Not found") from exc

    return wrapper


def _ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", ""))


def start(request: HttpRequest) -> HttpResponse:
    if signed_in(request):
        return redirect("portal:home")
    return render(request, "portal/start.html")


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    form = forms.ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            pending = services.start_sign_in(form.cleaned_data["contact"], _ip(request))
        except KinfoldError as exc:
            form.add_error("contact", exc.message[0].upper() + exc.message[1:])
        else:
            request.session[PENDING_KEY] = {"digest": pending.digest, "kind": pending.kind}
            return redirect("portal:code")
    return render(request, "portal/sign_in.html", {"form": form})


@require_http_methods(["GET", "POST"])
def code(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return redirect("portal:sign-in")
    form = forms.CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.verify_code(
                services.Pending(pending["digest"], pending["kind"]),
                form.cleaned_data["code"],
                _ip(request),
            )
        except KinfoldError as exc:
            form.add_error("code", exc.message[0].upper() + exc.message[1:])
        else:
            request.session.cycle_key()  # a new session id at sign-in: no fixation
            request.session.pop(PENDING_KEY, None)
            request.session[SESSION_KEY] = {"pid": user.pid, "at": timezone.now().isoformat()}
            request.session.set_expiry(IDLE_SECONDS)
            return redirect("portal:home")
    channel = "email" if pending.get("kind") == "email" else "text message"
    return render(request, "portal/code.html", {"form": form, "channel": channel})


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    if user is not None:
        services.signed_out(user.pid)
    request.session.pop(SESSION_KEY, None)
    request.session.cycle_key()
    messages.success(request, "You have signed out.")
    return redirect("portal:start")


@portal_required
def home(request: HttpRequest, user: access.PortalUser) -> HttpResponse:
    names = access.names(user)
    return render(request, "portal/home.html", {"name": names.get(user.pid, "")})


@portal_required
def held(request: HttpRequest, user: access.PortalUser) -> HttpResponse:
    panels = presenters.person_panels(access.holdings(user))
    return render(request, "portal/held.html", {"people": panels})


@portal_required
def history(request: HttpRequest, user: access.PortalUser) -> HttpResponse:
    try:
        before = int(request.GET["before"]) if request.GET.get("before") else None
    except ValueError:
        before = None
    page = access.history(user, before=before)
    latest = checkpoints.latest()
    rows = presenters.history_rows(
        page.entries, int(latest.tree_size) if latest else 0, page.override_reasons
    )
    return render(request, "portal/history.html", {"rows": rows, "older": page.next_before})


@portal_required
def proof(request: HttpRequest, user: access.PortalUser, seq: int) -> HttpResponse:
    try:
        document = access.proof(user, seq)
    except access.ProofNotReady:
        return JsonResponse(
            {"error": "this entry is newer than the latest signed checkpoint; try again later"},
            status=409,
        )
    response = JsonResponse(document, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'inline; filename="proof-{seq}.json"'
    return response


@portal_required
def consents(request: HttpRequest, user: access.PortalUser) -> HttpResponse:
    names = access.names(user)
    rows = access.consents(user)
    return render(request, "portal/consents.html", {"consents": rows, "names": names})


@portal_required
@require_http_methods(["GET", "POST"])
def withdraw(request: HttpRequest, user: access.PortalUser, record_id: str) -> HttpResponse:
    held = access.consent(user, str(record_id))
    form = forms.WithdrawForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        access.withdraw_consent(user, str(record_id), form.cleaned_data["note"])
        messages.success(
            request,
            f"Consent withdrawn: {held.organisation} can no longer share {held.category.lower()} "
            "information with your key worker on the strength of it.",
        )
        return redirect("portal:consents")
    names = access.names(user)
    return render(
        request,
        "portal/withdraw.html",
        {"consent": held, "form": form, "who": names.get(held.pid, "")},
    )


@portal_required
@require_http_methods(["GET", "POST"])
def ask(request: HttpRequest, user: access.PortalUser) -> HttpResponse:
    names = access.names(user)
    persons = [(pid, "Me" if pid == user.pid else name) for pid, name in names.items()]
    categories = [(c.slug, c.name) for c in agreements.categories()]
    form = forms.AskForm(request.POST or None, persons=persons, categories=categories)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        request_ref = rights.submit_request(
            user, data["person"], data["kind"], data["category"], data["text"]
        )
        return render(request, "portal/asked.html", {"ref": request_ref, "kind": data["kind"]})
    return render(request, "portal/ask.html", {"form": form})
