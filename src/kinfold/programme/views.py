"""The programme's pages: dashboard, identification runs, families' journeys, claims.

Views call services; personal data is decided by `kinfold.access` (family pages through
`access.programme.programme_family`, claims through `claims_access`), never queried here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from kinfold.access import programme as access_programme
from kinfold.access import services as access
from kinfold.errors import KinfoldError
from kinfold.programme import claims as claim_services
from kinfold.programme import dashboard as figures
from kinfold.programme import forms, identification, jobs, presenters, services
from kinfold.programme import journey as journeys
from kinfold.programme import progress as plans
from kinfold.programme.models import ClaimStatus, SpotCheck, State
from kinfold.quarters import Quarter
from kinfold.staff.models import User

View = Callable[..., HttpResponse]

PURPOSE_BY_ROLE = {
    "key_worker": "service-coordination",
    "team_manager": "identification",
    "analyst": "identification",
}


def _user(request: HttpRequest) -> User:
    """The signed-in member of staff (every view here is behind `roles`)."""
    return cast(User, request.user)


def roles(*allowed: str) -> Callable[[View], View]:
    """Only signed-in staff with one of `allowed` roles; others get 403, recorded."""

    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if _user(request).role not in allowed:
                access.record_refused_page(_user(request), request.path)
                raise PermissionDenied("Your role does not use this page.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


# ---------------------------------------------------------------------------- dashboard


@roles("team_manager", "analyst")
def dashboard(request: HttpRequest) -> HttpResponse:
    """Counts only (small numbers suppressed): no family is named on this page."""
    context = presenters.dashboard_context(figures.dashboard())
    return render(request, "programme/dashboard.html", context)


# ---------------------------------------------------------------------------- identification


@roles("analyst")
def runs(request: HttpRequest) -> HttpResponse:
    choices = services.framework_choices()
    default = str(identification.framework_path())
    if request.method == "POST":
        form = forms.IdentifyForm(request.POST, frameworks=choices)
        if form.is_valid():
            try:
                framework = identification.active_framework(form.cleaned_data["framework"])
                run = identification.start_run(
                    Quarter.parse(form.cleaned_data["quarter"]),
                    framework,
                    _user(request),
                )
            except KinfoldError as exc:
                form.add_error(None, str(exc))
            else:
                jobs.launch(run)
                return redirect("programme:run", run_id=run.run_id)
    else:
        form = forms.IdentifyForm(
            initial={"framework": default, "quarter": journeys.current_quarter()},
            frameworks=choices,
        )
    return render(request, "programme/runs.html", {"form": form, "runs": services.runs()})


@roles("analyst", "team_manager")
def run(request: HttpRequest, run_id: str) -> HttpResponse:
    found = services.run(run_id)
    if found is None:
        raise Http404("No such run")
    response = render(request, "programme/run.html", {"run": found})
    if not found.finished:
        response["Refresh"] = "2"  # the page polls the run's row, with no JavaScript
    return response


# ---------------------------------------------------------------------------- families


@roles("key_worker", "team_manager", "analyst")
def families(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    access_programme.list_programme_families(user, PURPOSE_BY_ROLE[user.role])
    state = request.GET.get("state", "")
    if state and state not in State.values:
        state = ""
    rows = presenters.journey_rows(services.journey_rows(user, state))
    return render(
        request,
        "programme/families.html",
        {"rows": rows, "state": state, "states": State.choices},
    )


def _journey_or_404(request: HttpRequest, fid: str) -> Any:
    journey = services.journey_of(fid)
    if journey is None:
        access.audit_actor_denied_lookup(_user(request), f"journey:{fid[:32]}", "identification")
        raise Http404("No such family in the programme")
    return journey


@roles("key_worker", "team_manager", "analyst")
def family(request: HttpRequest, fid: str) -> HttpResponse:
    user = _user(request)
    journey = _journey_or_404(request, fid)
    page = services.journey_page(journey)
    try:
        view = access_programme.programme_family(
            user,
            fid,
            PURPOSE_BY_ROLE[user.role],
            services.sources_of(page.evidence, page.progress),
        )
    except access.NotFound as exc:
        raise Http404("No such family") from exc
    context = presenters.journey_context(page, view, user)
    context["allocate_form"] = forms.AllocateForm() if user.role == "team_manager" else None
    return render(request, "programme/family.html", context)


@require_POST
@roles("key_worker", "team_manager", "analyst")
def move(request: HttpRequest, fid: str) -> HttpResponse:
    user = _user(request)
    journey = _journey_or_404(request, fid)
    target = request.POST.get("target", "")
    note = request.POST.get("note", "")[:500]
    try:
        if target == State.ALLOCATED:
            form = forms.AllocateForm(request.POST)
            if not form.is_valid():
                messages.error(request, "Choose a key worker to allocate the family to.")
                return redirect("programme:family", fid=fid)
            journeys.allocate(user, journey, form.cleaned_data["key_worker"])
        elif target == State.CONTACTED:
            journeys.contact(user, journey)
        elif target == State.PLAN_AGREED:
            plans.agree_plan(user, journey)
        elif target == State.IN_PROGRESS:
            plans.review_progress(user, journey)
        elif target == State.CLAIMED:
            raise KinfoldError(
                "a results claim is prepared on the claims page, which moves the journey"
            )
        else:
            journeys.move(user, journey, target, note=note)
    except KinfoldError as exc:
        messages.error(request, str(exc))
        return redirect("programme:family", fid=fid)
    journey.refresh_from_db()
    messages.success(request, f"Family {fid}: {State(journey.state).label.lower()}.")
    return redirect("programme:family", fid=fid)


# ---------------------------------------------------------------------------- claims


def _quarter(request: HttpRequest) -> str:
    text = request.GET.get("quarter") or request.POST.get("quarter") or journeys.current_quarter()
    try:
        return str(Quarter.parse(text)) if text else ""
    except KinfoldError:
        return ""


@roles("analyst", "team_manager")
def claims(request: HttpRequest) -> HttpResponse:
    quarter = _quarter(request)
    found = services.claims_for(quarter) if quarter else []
    access_programme.claims_access(
        _user(request),
        f"claims:{quarter}",
        sorted({c.family.fid for c in found}),
    )
    return render(
        request,
        "programme/claims.html",
        {
            "quarter": quarter,
            "claims": found,
            "form": forms.QuarterForm(initial={"quarter": quarter}),
            "sample": services.sample(quarter) if quarter else None,
            "signed_off": [
                c for c in found if c.status in (ClaimStatus.SIGNED_OFF, ClaimStatus.SUBMITTED)
            ],
            "total": sum(c.amount for c in found if c.status != ClaimStatus.INVALID),
        },
    )


@require_POST
@roles("analyst")
def prepare(request: HttpRequest) -> HttpResponse:
    quarter = _quarter(request)
    try:
        made = claim_services.prepare_claims(_user(request), quarter)
    except KinfoldError as exc:
        messages.error(request, str(exc))
    else:
        invalid = sum(1 for c in made if c.status == ClaimStatus.INVALID)
        messages.success(
            request,
            f"{len(made)} claims prepared for {quarter}"
            + (f", {invalid} of them invalid (see why below)" if invalid else "")
            + ".",
        )
    return redirect(f"{_claims_url()}?quarter={quarter}")


def _claims_url() -> str:
    from django.urls import reverse

    return reverse("programme:claims")


@roles("analyst", "team_manager", "dpo")
def claim(request: HttpRequest, claim_id: str) -> HttpResponse:
    found = services.claim(claim_id)
    if found is None:
        raise Http404("No such claim")
    sampled = found.spot_checks.exists()
    access_programme.claims_access(
        _user(request),
        f"claim:{claim_id}",
        [found.family.fid],
        spot_check=sampled,
    )
    return render(
        request,
        "programme/claim.html",
        {
            "claim": found,
            "intact": found.verify(),
            "sections": presenters.pack_sections(found),
            "can_sign_off": _user(request).role == "team_manager"
            and found.status == ClaimStatus.PREPARED
            and found.prepared_by_id != _user(request).pk,
        },
    )


@require_POST
@roles("team_manager")
def sign_off(request: HttpRequest, claim_id: str) -> HttpResponse:
    found = services.claim(claim_id)
    if found is None:
        raise Http404("No such claim")
    try:
        claim_services.sign_off(_user(request), found)
    except KinfoldError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Claim {claim_id} signed off: its evidence is now frozen.")
    return redirect("programme:claim", claim_id=claim_id)


@require_POST
@roles("analyst", "team_manager")
def claims_file(request: HttpRequest) -> HttpResponse:
    quarter = _quarter(request)
    try:
        text = claim_services.claims_file(_user(request), quarter)
    except KinfoldError as exc:
        messages.error(request, str(exc))
        return redirect(f"{_claims_url()}?quarter={quarter}")
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="claims-{quarter}.csv"'
    return response


@require_POST
@roles("analyst", "team_manager")
def draw_sample(request: HttpRequest) -> HttpResponse:
    quarter = _quarter(request)
    try:
        claim_services.draw_sample(_user(request), quarter)
    except KinfoldError as exc:
        messages.error(request, str(exc))
        return redirect(f"{_claims_url()}?quarter={quarter}")
    return redirect("programme:sample", quarter=quarter)


@roles("analyst", "team_manager", "dpo")
def samples(request: HttpRequest) -> HttpResponse:
    drawn = services.samples()
    return render(request, "programme/samples.html", {"samples": drawn})


@roles("analyst", "team_manager", "dpo")
def sample(request: HttpRequest, quarter: str) -> HttpResponse:
    found = services.sample(quarter)
    if found is None:
        raise Http404("No sample drawn for this quarter")
    checks = list(found.checks.select_related("claim__family", "checked_by"))
    access_programme.claims_access(
        _user(request),
        f"sample:{quarter}",
        sorted({c.claim.family.fid for c in checks}),
        spot_check=True,
    )
    rows = [
        {
            "check": c,
            "claim": c.claim,
            "intact": c.claim.verify(),
            "form": forms.SpotCheckForm(prefix=str(c.pk)),
        }
        for c in checks
    ]
    return render(
        request,
        "programme/sample.html",
        {
            "sample": found,
            "rows": rows,
            "can_check": _user(request).role in ("team_manager", "dpo"),
        },
    )


@require_POST
@roles("team_manager", "dpo")
def spot_check(request: HttpRequest, quarter: str, check_id: int) -> HttpResponse:
    found = services.sample(quarter)
    check = found.checks.filter(pk=check_id).select_related("claim").first() if found else None
    if check is None:
        raise Http404("No such spot check")
    form = forms.SpotCheckForm(request.POST, prefix=str(check_id))
    if not form.is_valid():
        messages.error(request, "Choose whether the evidence supports the claim.")
        return redirect("programme:sample", quarter=quarter)
    try:
        claim_services.spot_check(
            _user(request),
            check,
            passed=form.cleaned_data["result"] == SpotCheck.Result.PASSED,
            note=form.cleaned_data["note"],
        )
    except KinfoldError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Spot check of claim {check.claim.claim_id} recorded.")
    return redirect("programme:sample", quarter=quarter)
