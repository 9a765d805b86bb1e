"""Forms of the Chorus Pro screens: the send dialog and the submissions filter."""

from django import forms
from django.utils.translation import gettext_lazy as _

from chorus.models import Submission
from chorus.selectors import SubmissionFilters


class SendForm(forms.Form):
    """The seed's dialog: SIRET required; buyer reference and order number optional."""

    siret = forms.CharField(
        label=_("Siret du client"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        error_messages={"required": _("Le Siret du client est obligatoire pour l'envoi.")},
    )
    service_code = forms.CharField(
        label=_("Référence acheteur (Service exécutant)"), max_length=100, required=False
    )
    engagement_number = forms.CharField(
        label=_("Numéro de commande (Engagement juridique)"), max_length=50, required=False
    )

    def clean_siret(self) -> str:
        return "".join(self.cleaned_data["siret"].split())


class SubmissionFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Statut"),
        required=False,
        choices=[("", _("Tous"))] + list(Submission.Status.choices),
    )
    company = forms.TypedChoiceField(
        label=_("Société"), required=False, coerce=int, empty_value=None
    )
    date_from = forms.DateField(
        label=_("Du"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("Au"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, companies, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["company"].choices = [("", _("Toutes"))] + [(c.pk, c.name) for c in companies]

    def filters(self) -> SubmissionFilters:
        if not self.is_valid():
            return SubmissionFilters()
        data = self.cleaned_data
        return SubmissionFilters(
            status=data["status"] or "",
            company_id=data["company"],
            date_from=data["date_from"],
            date_to=data["date_to"],
        )
