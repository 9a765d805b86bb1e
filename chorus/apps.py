from django.apps import AppConfig


class ChorusConfig(AppConfig):
    name = "chorus"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Plug the chorus reads into the browser application (invoicing never imports chorus).
        from chorus import selectors
        from invoicing import selectors as invoicing_selectors

        invoicing_selectors.PROVIDERS.update(
            plan_usage=selectors.plan_usage,
            latest_submissions=selectors.latest_submissions,
            invoice_submissions=selectors.invoice_submissions,
        )
