from django.urls import path

from facturx_export import views

app_name = "facturx_export"

urlpatterns = [
    path("<int:invoice_id>/", views.download, name="download"),
    path("<int:invoice_id>/pdf/", views.download_pdf, name="download_pdf"),
]
