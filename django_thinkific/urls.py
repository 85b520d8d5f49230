from django.urls import include, path

from . import views

app_name = "django_thinkific"

urlpatterns = [
    path("webhooks/", views.webhook, name="webhook"),
    path("api/", include("django_thinkific.api.urls")),
]
