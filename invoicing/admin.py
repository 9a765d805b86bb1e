from django import forms
from django.contrib import admin, messages
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters

from invoicing.forms import KeepSecretsMixin, SecretField
from invoicing.models import (
    Article,
    Company,
    Customer,
    Dossier,
    FinalInvoiceError,
    Invoice,
    InvoiceLine,
    Membership,
    NumberingCounter,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Dossier)
class DossierAdmin(admin.ModelAdmin):
    list_display = ["name", "facturx_module_enabled", "chorus_yearly_allowance", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "dossier", "role"]
    list_filter = ["role", "dossier"]
    autocomplete_fields = ["user", "dossier"]


class CompanyAdminForm(KeepSecretsMixin, forms.ModelForm):
    chorus_password = SecretField(label=_("mot de passe du compte technique"))
    piste_client_secret = SecretField(label=_("client secret PISTE (facultatif)"))

    class Meta:
        model = Company
        fields = "__all__"


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    form = CompanyAdminForm
    list_display = ["name", "dossier", "siret", "vat_number", "vat_on_debits", "chorus_environment"]
    list_filter = ["dossier", "chorus_environment", "vat_on_debits", "chorus_legacy_layout"]
    search_fields = ["name", "siren", "siret", "electronic_address"]

    # Error reports (e-mails to ADMINS, 500 logs) must not show the typed secrets.
    @method_decorator(sensitive_post_parameters("chorus_password", "piste_client_secret"))
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "siren", "siret", "chorus_enabled", "dossier"]
    list_filter = ["dossier", "kind", "chorus_enabled"]
    search_fields = ["code", "name", "siren", "siret", "electronic_address"]
    fieldsets = [
        (None, {"fields": ["dossier", "code", "kind", "name", "email", "vat_number"]}),
        (
            _("Adresse de facturation"),
            {"fields": ["address_line1", "address_line2", "postcode", "city", "country_code"]},
        ),
        (
            _("Identification entreprise – SIREN, SIRET, Chorus Pro"),
            {
                "fields": [
                    "chorus_enabled",
                    "siret",
                    "siren",
                    "electronic_address",
                    "default_service_code",
                    "default_engagement_number",
                ]
            },
        ),
        (
            _("Adresse de livraison (si différente)"),
            {"fields": list(Customer.DELIVERY_FIELDS), "classes": ["collapse"]},
        ),
    ]


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["code", "label", "unit", "unit_price", "nature", "vat_rate", "dossier"]
    list_filter = ["dossier", "nature", "vat_category", "exemption_code"]
    search_fields = ["code", "label"]


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0

    def _final(self, obj) -> bool:
        return obj is not None and obj.is_final

    def has_add_permission(self, request, obj=None):
        return not self._final(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not self._final(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._final(obj) and super().has_delete_permission(request, obj)


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = [
        "__str__", "company", "customer", "state", "issue_date", "already_paid", "dossier"
    ]  # fmt: skip
    list_filter = ["state", "kind", "already_paid", "dossier", "company"]
    search_fields = ["number", "customer__name"]
    readonly_fields = ["state", "number", "issue_date", "finalised_at"]
    inlines = [InvoiceLineInline]
    actions = ["delete_provisional"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # it would bypass the final-invoice guard message
        return actions

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_final:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_final:
            return False
        return super().has_delete_permission(request, obj)

    @admin.action(description=_("Supprimer les factures provisoires sélectionnées"))
    def delete_provisional(self, request, queryset):
        try:
            count, _detail = queryset.delete()
        except FinalInvoiceError as exc:
            self.message_user(request, exc.messages[0], level=messages.ERROR)
            return
        self.message_user(request, _("%(count)d élément(s) supprimé(s).") % {"count": count})


@admin.register(NumberingCounter)
class NumberingCounterAdmin(admin.ModelAdmin):
    list_display = ["company", "kind", "year", "last_number"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
