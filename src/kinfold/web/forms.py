"""Forms for the staff pages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache

from kinfold.staff.models import Role, User

MAX_FAILED_SIGN_INS = 5
LOCKOUT_SECONDS = 15 * 60


class SignInForm(AuthenticationForm):
    """Django's sign-in with a lockout after repeated failures for the same username."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Enter a correct username and password.",
        "locked": "Too many failed attempts. Wait 15 minutes, then try again.",
    }

    def clean(self) -> dict[str, Any]:
        username = (self.data.get("username") or "").strip().lower()
        key = f"kinfold:sign-in-failures:{username}"
        if cache.get(key, 0) >= MAX_FAILED_SIGN_INS:
            raise forms.ValidationError(self.error_messages["locked"], code="locked")
        try:
            return super().clean()
        except forms.ValidationError:
            cache.set(key, cache.get(key, 0) + 1, LOCKOUT_SECONDS)
            raise


if TYPE_CHECKING:
    _UserChoice = forms.ModelChoiceField[User]
else:  # Django's form fields are generic only in the type stubs
    _UserChoice = forms.ModelChoiceField


class KeyWorkerChoice(_UserChoice):
    def label_from_instance(self, obj: User) -> str:
        return obj.display_name


class AllocateForm(forms.Form):
    key_worker = KeyWorkerChoice(
        queryset=User.objects.filter(role=Role.KEY_WORKER, is_active=True).order_by("last_name"),
        empty_label="Choose a key worker",
    )


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, label="Who (username)")
    event = forms.CharField(required=False, label="What (event, or its start, e.g. family:)")
    subject = forms.CharField(required=False, label="About (family or person id)")
    decision = forms.ChoiceField(
        required=False, choices=[("", "Any"), ("allow", "Allowed"), ("deny", "Denied")]
    )
    since = forms.DateField(required=False, label="From (YYYY-MM-DD)")
    until = forms.DateField(required=False, label="To (YYYY-MM-DD)")
