"""Forms of the programme's pages."""

from __future__ import annotations

from typing import Any

from django import forms

from kinfold.quarters import Quarter
from kinfold.staff.models import Role, User


class QuarterField(forms.CharField):
    def clean(self, value: Any) -> str:
        text = super().clean(value)
        try:
            return str(Quarter.parse(text))
        except Exception:
            raise forms.ValidationError("Enter a quarter like 2016Q1") from None


class IdentifyForm(forms.Form):
    quarter = QuarterField(label="Quarter", help_text="For example, 2016Q1", max_length=7)
    framework = forms.ChoiceField(label="Outcomes framework")

    def __init__(self, *args: Any, frameworks: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["framework"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = frameworks


class QuarterForm(forms.Form):
    quarter = QuarterField(
        label="Claim period (quarter)", help_text="For example, 2016Q3", max_length=7
    )


class KeyWorkerChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.display_name)


class AllocateForm(forms.Form):
    key_worker = KeyWorkerChoice(
        queryset=User.objects.filter(role=Role.KEY_WORKER, is_active=True).order_by("last_name"),
        label="Key worker",
        empty_label="Choose a key worker",
    )


class MoveForm(forms.Form):
    target = forms.CharField(max_length=20)
    note = forms.CharField(max_length=500, required=False)


class SpotCheckForm(forms.Form):
    result = forms.ChoiceField(
        choices=[
            ("passed", "The evidence supports the claim"),
            ("failed", "The evidence does not support the claim"),
        ],
        widget=forms.RadioSelect,
        label="Result",
    )
    note = forms.CharField(
        max_length=500, required=False, label="Note", widget=forms.Textarea(attrs={"rows": 3})
    )
