from django.apps import AppConfig


class ChorusConfig(AppConfig):
    name = "chorus"
    default_auto_field = "django.db.models.BigAutoField"
