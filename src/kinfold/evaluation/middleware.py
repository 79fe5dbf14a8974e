"""Every public response passes the publishing guard before it leaves (kinfold.evaluation.publishing)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from kinfold.evaluation import publishing

_CHECKED_TYPES = ("text/", "application/json", "application/xml", "application/xhtml")


class PublishingGuardMiddleware:
    """Public pages (KINFOLD_PUBLIC_PATHS) that look like they hold personal data are withheld:
    a 503 "withheld for checking" page instead, the DPO told. Staff and portal pages are not
    public and are not checked here (access control protects them)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(tuple(settings.KINFOLD_PUBLIC_PATHS)):
            return response
        content_type = response.get("Content-Type", "")
        if response.streaming:
            return _withheld(request)  # cannot be checked before it is sent
        if not content_type.startswith(_CHECKED_TYPES):
            return response
        verdict = publishing.check_content(response.content, content_type)
        if verdict.clean:
            return response
        publishing.record_block(request.path, response.content, verdict)
        return _withheld(request)


def _withheld(request: HttpRequest) -> HttpResponse:
    body = render_to_string("evaluation/withheld.html", request=request)
    response = HttpResponse(body, status=503)
    response["Retry-After"] = "3600"
    return response
