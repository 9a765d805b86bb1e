from django.urls import path

from invoicing import credit_note_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("contexte/", views.workspace_switch, name="workspace_switch"),
    path("clients/", views.customer_list, name="customer_list"),
    path("clients/nouveau/", views.customer_create, name="customer_create"),
    path("clients/<int:pk>/", views.customer_edit, name="customer_edit"),
    path("articles/", views.article_list, name="article_list"),
    path("articles/nouveau/", views.article_create, name="article_create"),
    path("articles/<int:pk>/", views.article_edit, name="article_edit"),
    path("articles/recherche/", views.article_lookup, name="article_lookup"),
    path("factures/", views.invoice_list, name="invoice_list"),
    path("factures/nouvelle/", views.invoice_create, name="invoice_create"),
    path("factures/<int:pk>/", views.invoice_detail, name="invoice_detail"),
    path(
        "factures/<int:pk>/avoir/", credit_note_views.credit_note_create, name="credit_note_create"
    ),
    path("parametres/", views.settings_module, name="settings_module"),
    path("parametres/entreprises/", views.settings_companies, name="settings_companies"),
    path(
        "parametres/entreprises/nouvelle/",
        views.settings_company_create,
        name="settings_company_create",
    ),
    path(
        "parametres/entreprises/<int:pk>/",
        views.settings_company_edit,
        name="settings_company_edit",
    ),
    path("parametres/volumetrie/", views.settings_plan, name="settings_plan"),
]
