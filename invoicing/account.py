"""The signed-in user's own account: changing their password outside the admin."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's view (old password checked, AUTH_PASSWORD_VALIDATORS applied, the session
    kept), in the site's layout, back to the home page with a confirmation."""

    template_name = "registration/account_password_change.html"
    success_url = reverse_lazy("home")
    title = _("Changer de mot de passe")

    def form_valid(self, form) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, _("Votre mot de passe a été modifié."))
        return response
