"""Forms for the DPO's rights pages."""

from __future__ import annotations

from django import forms


class FindPersonForm(forms.Form):
    surname = forms.CharField(required=False, label="Last name")
    dob = forms.CharField(required=False, label="Date of birth (YYYY-MM-DD)")
    nhs_number = forms.CharField(required=False, label="NHS number")
    ni_number = forms.CharField(required=False, label="National Insurance number")
    email = forms.CharField(required=False, label="Email address")
    phone = forms.CharField(required=False, label="Phone number")

    def lookups(self) -> list[tuple[str, str]]:
        return [(name, value) for name, value in self.cleaned_data.items() if value]

    def clean(self) -> dict[str, str]:
        data = super().clean() or {}
        if bool(data.get("surname")) != bool(data.get("dob")) and not any(
            data.get(f) for f in ("nhs_number", "ni_number", "email", "phone")
        ):
            raise forms.ValidationError(
                "Give a last name with a date of birth, or a reference number, email or phone"
            )
        return data


class OpenRequestForm(forms.Form):
    pid = forms.CharField(widget=forms.HiddenInput)
    verified_by = forms.CharField(label="How did you check who is asking?", max_length=200)


class ExtendForm(forms.Form):
    reason = forms.CharField(label="Why it needs two more months", max_length=500)


class DecideForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[
            ("upheld", "Uphold (make the correction / stop using the data)"),
            ("refused", "Refuse"),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label="Your reasons (sent to the family)", max_length=500)
