from django.apps import AppConfig


class FacturxExportConfig(AppConfig):
    name = "facturx_export"
    default_auto_field = "django.db.models.BigAutoField"
