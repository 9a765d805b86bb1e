from django.contrib import admin

from chorus.models import PlanYear, ReportEntry, StatusChange, Submission


@admin.register(PlanYear)
class PlanYearAdmin(admin.ModelAdmin):
    """Usage per dossier and year; the allowance itself is set on the dossier."""

    list_display = ["dossier", "year", "used", "reserved", "allowance", "remaining"]
    list_filter = ["year", "dossier"]
    readonly_fields = ["dossier", "year", "used", "reserved"]

    @admin.display(description="forfait")
    def allowance(self, obj: PlanYear) -> int:
        return obj.dossier.chorus_yearly_allowance

    @admin.display(description="restant")
    def remaining(self, obj: PlanYear) -> int:
        return max(obj.dossier.chorus_yearly_allowance - obj.used - obj.reserved, 0)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReportInline(admin.TabularInline):
    model = ReportEntry
    extra = 0
    can_delete = False
    readonly_fields = ["at", "step", "outcome", "message"]

    def has_add_permission(self, request, obj=None):
        return False


class StatusInline(admin.TabularInline):
    model = StatusChange
    extra = 0
    can_delete = False
    readonly_fields = ["changed_at", "code", "comment"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "invoice",
        "company",
        "status",
        "chorus_status",
        "flow_number",
        "created_at",
    ]
    list_filter = ["status", "chorus_status", "dossier", "company"]
    search_fields = ["invoice__number", "flow_number", "siret"]
    exclude = ["facturx_file"]
    inlines = [ReportInline, StatusInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "facturx_file"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
