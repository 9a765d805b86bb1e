from django import forms
from django.utils.translation import gettext_lazy as _


class SecretField(forms.CharField):
    """A write-only secret: never rendered back; left empty, the stored value is kept."""

    widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text", _("Laissez vide pour conserver la valeur enregistrée (jamais affichée).")
        )
        super().__init__(**kwargs)

    def has_changed(self, initial, data) -> bool:
        return bool(data)

    def bound_data(self, data, initial):
        return data

    def prepare_value(self, value):
        return ""


class KeepSecretsMixin:
    """On a ModelForm: an empty SecretField keeps the instance's stored secret."""

    def clean(self):
        cleaned = super().clean()
        for name, field in self.fields.items():
            if isinstance(field, SecretField) and not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)
        return cleaned
