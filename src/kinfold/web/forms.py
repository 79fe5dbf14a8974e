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


# ---------------------------------------------------------------------------- consent, overrides, referrals

if TYPE_CHECKING:
    from kinfold.access.consents import ConsentOptions, Member


class ConsentForm(forms.Form):
    """Record what one person agreed to (or refused), category by category and partner by partner.

    Choices come from the approved agreement (`kinfold.access.consents.options`); the service
    checks the combination again, and the rules for children.
    """

    pid = forms.ChoiceField(label="Whose consent is this?", widget=forms.RadioSelect)
    recipient = forms.ChoiceField(label="Who may see the information?", widget=forms.RadioSelect)
    categories = forms.MultipleChoiceField(
        label="What information does it cover?", widget=forms.CheckboxSelectMultiple
    )
    providers = forms.MultipleChoiceField(
        label="From which partners?",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked for every partner the agreement names for that information.",
    )
    state = forms.ChoiceField(
        label="What did they decide?",
        choices=[("given", "They agreed"), ("refused", "They said no")],
        widget=forms.RadioSelect,
        initial="given",
    )
    given_by = forms.ChoiceField(
        label="Who gave it?",
        choices=[("self", "The person themselves"), ("parent", "A parent or carer, for a child")],
        widget=forms.RadioSelect,
        initial="self",
    )
    given_by_pid = forms.ChoiceField(label="Which parent or carer?", required=False)
    competent = forms.BooleanField(
        label="A child under 16 consenting for themselves: I judge them competent to decide (Gillick)",
        required=False,
    )
    child_view = forms.ChoiceField(
        label="The child's own view (from 12, when a parent consents for them)",
        required=False,
        choices=[
            ("", "Not recorded"),
            ("agrees", "Agrees"),
            ("does-not-agree", "Does not agree"),
            ("mixed", "Has mixed feelings"),
            ("declined", "Did not want to say"),
        ],
    )
    child_view_note = forms.CharField(
        label="In the child's words (optional)", required=False, max_length=300
    )
    method = forms.ChoiceField(label="How was it given?", widget=forms.RadioSelect)
    notice_version = forms.CharField(label="Privacy notice version shown", max_length=40)
    evidence_ref = forms.CharField(
        label="Evidence reference (optional)",
        required=False,
        max_length=120,
        help_text="For example the reference of the signed form in the case file.",
    )
    valid_until = forms.DateField(
        label="Valid until (optional, YYYY-MM-DD)",
        required=False,
        help_text="Leave empty for until withdrawn.",
    )

    def __init__(self, options: ConsentOptions, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options = options
        f = self.fields
        f["pid"].choices = [(m.pid, member_label(m)) for m in options.members]  # type: ignore[attr-defined]
        f["recipient"].choices = [  # type: ignore[attr-defined]
            (
                r.slug,
                f"The family's key worker at {r.name}" if i == 0 else f"{r.name}, in a referral",
            )
            for i, r in enumerate(options.recipients)
        ]
        if options.recipients:
            f["recipient"].initial = options.recipients[0].slug
        categories = {c.slug: c.name for cats in options.categories.values() for c in cats}
        f["categories"].choices = sorted(categories.items(), key=lambda c: c[1])  # type: ignore[attr-defined]
        providers = {
            p.slug: p.name
            for by_cat in options.providers.values()
            for provs in by_cat.values()
            for p in provs
        }
        f["providers"].choices = sorted(providers.items(), key=lambda c: c[1])  # type: ignore[attr-defined]
        f["given_by_pid"].choices = [("", "Choose")] + [  # type: ignore[attr-defined]
            (m.pid, member_label(m)) for m in options.members if not m.is_child
        ]
        f["method"].choices = options.methods  # type: ignore[attr-defined]
        f["method"].initial = "written"
        f["notice_version"].initial = options.notice_version


def member_label(member: Member) -> str:
    age = f", {member.age}" if member.age is not None else ""
    return f"{member.pid} ({member.role.lower()}{age})"


class NoteForm(forms.Form):
    note = forms.CharField(label="Note (optional)", required=False, max_length=500)


class OverrideForm(forms.Form):
    pid = forms.ChoiceField(label="Who does it cover?", required=False, widget=forms.RadioSelect)
    categories = forms.MultipleChoiceField(
        label="What information?", widget=forms.CheckboxSelectMultiple
    )
    partners = forms.MultipleChoiceField(
        label="Which partners?",
        widget=forms.CheckboxSelectMultiple,
        help_text="Their information may be seen under the override, and a referral may reach them.",
    )
    justification = forms.CharField(
        label="Why is sharing without consent necessary to protect someone?",
        widget=forms.Textarea,
        max_length=2000,
        help_text="Write for the person who will approve it and for the data protection officer. "
        "Use the family's id, not names.",
    )
    expires_on = forms.DateField(
        label="Ends on (YYYY-MM-DD)", help_text="At most 90 days from today."
    )
    tell_family = forms.ChoiceField(
        label="Will the family be told?",
        choices=[
            ("yes", "Yes, the family is told"),
            ("no", "No: telling them would put someone at risk"),
        ],
        widget=forms.RadioSelect,
        initial="yes",
    )
    not_told_reason = forms.CharField(
        label="If not, why would telling them put someone at risk?",
        required=False,
        widget=forms.Textarea,
        max_length=1000,
    )

    def __init__(
        self,
        members: list[tuple[str, str]],
        categories: list[tuple[str, str]],
        partners: list[tuple[str, str]],
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pid"].choices = [("", "The whole family"), *members]  # type: ignore[attr-defined]
        self.fields["categories"].choices = categories  # type: ignore[attr-defined]
        self.fields["partners"].choices = partners  # type: ignore[attr-defined]


class DecideForm(forms.Form):
    decision = forms.ChoiceField(
        label="Your decision",
        choices=[("approve", "Approve"), ("reject", "Reject")],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label="Your reasons (needed to reject)",
        required=False,
        widget=forms.Textarea,
        max_length=1000,
    )


class ReferralForm(forms.Form):
    items = forms.MultipleChoiceField(label="What to send", widget=forms.CheckboxSelectMultiple)
    message = forms.CharField(
        label="What are you asking them to do?",
        widget=forms.Textarea,
        max_length=2000,
        help_text="Say how to reach the family. This message is sealed: only the partner sees it.",
    )

    def __init__(self, items: list[tuple[str, str]], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["items"].choices = items  # type: ignore[attr-defined]


class RespondForm(forms.Form):
    to = forms.ChoiceField(
        choices=[("accepted", "Accept"), ("rejected", "Reject"), ("done", "Record the outcome")]
    )
    note = forms.CharField(
        label="Reason or outcome", required=False, widget=forms.Textarea, max_length=1000
    )
