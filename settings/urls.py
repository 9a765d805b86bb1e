from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from invoicing.account import PasswordChangeView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("connexion/", auth_views.LoginView.as_view(), name="login"),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path("compte/mot-de-passe/", PasswordChangeView.as_view(), name="password_change"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("chorus/", include("chorus.urls")),
    path("factur-x/", include("facturx_export.urls")),
    path("", include("invoicing.urls")),
]
