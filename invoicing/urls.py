from django.urls import path

from invoicing import views

urlpatterns = [
    path("", views.home, name="home"),
]
