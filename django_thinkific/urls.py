from django.urls import path

from . import views

app_name = "django_thinkific"

urlpatterns = [
    path("webhooks/", views.webhook, name="webhook"),
]
