from django.urls import path

from chorus import views

app_name = "chorus"

urlpatterns = [
    path("factures/<int:pk>/envoyer/", views.send, name="send"),
    path("factures/<int:pk>/envoyer/siret/", views.siret_check, name="siret_check"),
    path("factures/envoyer-selection/", views.send_selection, name="send_selection"),
    path("envois/", views.submission_list, name="submission_list"),
    path("envois/<int:pk>/", views.submission_detail, name="submission"),
    path("envois/<int:pk>/etat/", views.submission_status, name="submission_status"),
    path("entreprises/<int:pk>/tester/", views.company_test, name="company_test"),
    path("envois/<int:pk>/reessayer/", views.submission_retry, name="submission_retry"),
]
