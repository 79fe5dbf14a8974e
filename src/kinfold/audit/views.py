"""Public pages: the audit log's signing key and signed checkpoints, as HTML, JSON and text.

Nothing personal is on these pages: sizes, hashes, times and signatures only. No sign-in.
"""

from __future__ import annotations

import base64

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET

from kinfold.audit import checkpoints, presenters, proofs
from kinfold.audit.errors import AuditError
from kinfold.audit.models import Checkpoint

PAGE_ROWS = 20
JSON_LIMIT_DEFAULT = 100
JSON_LIMIT_MAX = 1000


def _log_description() -> dict[str, object]:
    return {
        "origin": checkpoints.origin(),
        "public_key": base64.b64encode(checkpoints.public_key()).decode(),
        "public_key_pem": checkpoints.public_key_pem(),
        "verifier_key": checkpoints.verifier_key(),
        "hashing": "RFC 9162: SHA-256, leaf 0x00, node 0x01",
    }


@require_GET
def public_log(request: HttpRequest) -> HttpResponse:
    """The audit log's public page: what it is, the public key, the latest checkpoints."""
    recent = list(Checkpoint.objects.order_by("-number")[:PAGE_ROWS])
    context = {
        "log": _log_description(),
        "rows": [presenters.checkpoint_row(c) for c in recent],
        "total": Checkpoint.objects.count(),
        "latest_note": checkpoints.note_text(recent[0]) if recent else "",
    }
    return TemplateResponse(request, "audit/public_log.html", context)


def _int_param(request: HttpRequest, name: str, default: int | None) -> int | None:
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise AuditError(f"'{name}' must be a whole number") from None
    if value < 0:
        raise AuditError(f"'{name}' cannot be negative")
    return value


def _bad_request(exc: AuditError) -> JsonResponse:
    return JsonResponse({"error": str(exc)}, status=400)


@require_GET
def checkpoints_json(request: HttpRequest) -> JsonResponse:
    """Signed checkpoints, newest first; `?before=N` pages back, `?limit=` up to 1000."""
    try:
        before = _int_param(request, "before", None)
        limit = _int_param(request, "limit", JSON_LIMIT_DEFAULT) or JSON_LIMIT_DEFAULT
    except AuditError as exc:
        return _bad_request(exc)
    limit = min(limit, JSON_LIMIT_MAX)
    query = Checkpoint.objects.order_by("-number")
    if before is not None:
        query = query.filter(number__lt=before)
    rows = list(query[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return JsonResponse(
        {
            **_log_description(),
            "checkpoints": [checkpoints.as_json(c) for c in rows],
            "next_before": int(rows[-1].number) if more else None,
        }
    )


@require_GET
def latest_checkpoint_note(request: HttpRequest) -> HttpResponse:
    """The latest checkpoint as a signed note (text), for witnesses and monitors."""
    latest = checkpoints.latest()
    if latest is None:
        return HttpResponse("no checkpoint yet\n", status=404, content_type="text/plain")
    return HttpResponse(checkpoints.note_text(latest), content_type="text/plain; charset=utf-8")


@require_GET
def consistency_json(request: HttpRequest) -> JsonResponse:
    """`?from=N&to=M`: the proof that the log at M extends the log at N (M ≤ latest checkpoint)."""
    latest = checkpoints.latest()
    try:
        if latest is None:
            raise AuditError("no checkpoint has been signed yet")
        size1 = _int_param(request, "from", None)
        size2 = _int_param(request, "to", int(latest.tree_size))
        if size1 is None or size2 is None:
            raise AuditError("give 'from' (and optionally 'to') as tree sizes")
        if size2 > int(latest.tree_size):
            raise AuditError(f"'to' must not exceed the latest checkpoint ({latest.tree_size})")
        return JsonResponse(proofs.consistency_json(size1, size2))
    except AuditError as exc:
        return _bad_request(exc)
