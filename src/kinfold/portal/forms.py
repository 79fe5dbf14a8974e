"""Forms for the family portal: short, plain, one question a page where it can be."""

from __future__ import annotations

from django import forms


class ContactForm(forms.Form):
    contact = forms.CharField(
        label="Email address or mobile number",
        help_text="The one your key worker set up for you.",
        max_length=254,
        error_messages={"required": "Enter your email address or mobile number"},
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        help_text="The 6-digit code we sent you. It works for 10 minutes.",
        max_length=12,
        error_messages={"required": "Enter the code we sent you"},
    )


class WithdrawForm(forms.Form):
    note = forms.CharField(
        label="Tell us why (optional)",
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class AskForm(forms.Form):
    kind = forms.ChoiceField(
        label="What do you want to ask?",
        choices=[
            ("correction", "Something we hold is wrong: ask us to correct it"),
            ("objection", "I object to my information being used to identify families"),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose what you want to ask"},
    )
    person = forms.ChoiceField(label="Who is it about?")
    category = forms.ChoiceField(label="Which kind of information (optional)", required=False)
    text = forms.CharField(
        label="Tell us more",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": "Tell us what is wrong, or why you object"},
    )

    def __init__(
        self,
        *args: object,
        persons: list[tuple[str, str]],
        categories: list[tuple[str, str]],
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["person"].choices = persons  # type: ignore[attr-defined]
        self.fields["category"].choices = [("", "Not sure, or all of it"), *categories]  # type: ignore[attr-defined]
