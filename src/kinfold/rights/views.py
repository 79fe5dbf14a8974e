"""The DPO's pages: subject access, families' requests, unusual access, held-back publications.

Personal data comes only through `kinfold.access.portal` (via `kinfold.rights.services`).
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from kinfold.access import portal as access_portal
from kinfold.access.services import NotFound, actor_for
from kinfold.errors import KinfoldError
from kinfold.evaluation import publishing
from kinfold.rights import forms, oversight, services
from kinfold.web.views import roles


@roles("dpo")
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    sars = [(s, services.deadline_state(s)) for s in services.subject_access_requests(user)]  # type: ignore[arg-type]
    context = {
        "sars": [(s, state) for s, state in sars if state != "answered"],
        "requests": services.requests(user),  # type: ignore[arg-type]
        "blocks": publishing.open_blocks(),
    }
    return render(request, "rights/home.html", context)


@roles("dpo")
def find_person(request: HttpRequest) -> HttpResponse:
    form = forms.FindPersonForm(request.GET or None)
    persons = None
    if request.GET and form.is_valid():
        persons = access_portal.find_persons(request.user, form.lookups())  # type: ignore[arg-type]
    return render(request, "rights/find_person.html", {"form": form, "persons": persons})


@require_POST
@roles("dpo")
def open_request(request: HttpRequest) -> HttpResponse:
    form = forms.OpenRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say how you checked who is asking.")
        return redirect("rights:find-person")
    try:
        sar = services.open_subject_access(
            request.user,  # type: ignore[arg-type]
            form.cleaned_data["pid"],
            form.cleaned_data["verified_by"],
        )
    except NotFound as exc:
        raise Http404("No such person") from exc
    messages.success(
        request, f"Subject access request {sar.ref} opened, due by {sar.due_by:%-d %B %Y}."
    )
    return redirect("rights:subject-access", ref=sar.ref)


def _sar(request: HttpRequest, ref: str):  # type: ignore[no-untyped-def]
    try:
        return services.subject_access(request.user, ref)  # type: ignore[arg-type]
    except NotFound as exc:
        raise Http404("No such request") from exc


@roles("dpo")
def subject_access(request: HttpRequest, ref: str) -> HttpResponse:
    sar = _sar(request, ref)
    context = {
        "sar": sar,
        "state": services.deadline_state(sar),
        "extend_form": forms.ExtendForm(),
    }
    return render(request, "rights/subject_access.html", context)


@require_POST
@roles("dpo")
def extend(request: HttpRequest, ref: str) -> HttpResponse:
    _sar(request, ref)
    try:
        sar = services.extend_subject_access(request.user, ref, request.POST.get("reason", ""))  # type: ignore[arg-type]
        messages.success(request, f"Deadline extended to {sar.extended_to:%-d %B %Y}.")
    except KinfoldError as exc:
        messages.error(request, exc.message)
    return redirect("rights:subject-access", ref=ref)


@require_POST
@roles("dpo")
def release(request: HttpRequest, ref: str) -> HttpResponse:
    _sar(request, ref)
    try:
        services.release(request.user, ref)  # type: ignore[arg-type]
        messages.success(request, "Marked as answered: the copy was released to the requester.")
    except KinfoldError as exc:
        messages.error(request, exc.message)
    return redirect("rights:subject-access", ref=ref)


@roles("dpo")
def export_json(request: HttpRequest, ref: str) -> HttpResponse:
    _sar(request, ref)
    document = services.export(request.user, ref)  # type: ignore[arg-type]
    response = HttpResponse(
        json.dumps(document, indent=2, ensure_ascii=False), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="{ref}.json"'
    return response


@roles("dpo")
def export_html(request: HttpRequest, ref: str) -> HttpResponse:
    _sar(request, ref)
    document = services.export(request.user, ref)  # type: ignore[arg-type]
    return HttpResponse(services.export_html(document))


@roles("dpo")
def family_request(request: HttpRequest, ref: str) -> HttpResponse:
    try:
        view = services.request_view(request.user, ref)  # type: ignore[arg-type]
    except NotFound as exc:
        raise Http404("No such request") from exc
    form = forms.DecideForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.decide_request(
                request.user,  # type: ignore[arg-type]
                ref,
                form.cleaned_data["outcome"],
                form.cleaned_data["note"],
            )
            messages.success(request, f"Request {ref} decided.")
            return redirect("rights:home")
        except KinfoldError as exc:
            form.add_error(None, exc.message)
    return render(request, "rights/request.html", {"view": view, "form": form})


@roles("dpo")
def unusual_access(request: HttpRequest) -> HttpResponse:
    try:
        days = min(max(int(request.GET.get("days", "30")), 1), 365)
    except ValueError:
        days = 30
    found = oversight.findings(days)
    services.oversight_viewed(request.user, len(found))  # type: ignore[arg-type]
    return render(request, "rights/oversight.html", {"findings": found, "days": days})


@require_POST
@roles("dpo")
def resolve_block(request: HttpRequest, block_id: int) -> HttpResponse:
    publishing.resolve_block(
        actor_for(request.user),  # type: ignore[arg-type]
        block_id,
        request.POST.get("note", "")[:500] or "dealt with",
    )
    messages.success(request, "Marked as dealt with.")
    return redirect("rights:home")
