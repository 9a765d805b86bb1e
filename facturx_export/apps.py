from django.apps import AppConfig


class FacturxExportConfig(AppConfig):
    name = "facturx_export"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The invoicing app refuses at entry what the Factur-X could not carry or draw, and
        # checks every invoice before numbering it: both through what this app registers.
        from facturx_export import fonts, preflight
        from invoicing import preflight as invoicing_preflight
        from invoicing import text

        text.register_glyph_coverage(fonts.undrawable)
        invoicing_preflight.register(preflight.FacturxPreflight())
