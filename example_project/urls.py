from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("thinkific/", include("django_thinkific.urls")),
]

if settings.BENCH_FLOOR:
    from .floor import floor

    urlpatterns.append(path("bench/floor/", floor))

if settings.FAKE_THINKIFIC_API:
    # The demo's stand-in for api.thinkific.com (see settings.FAKE_THINKIFIC_API).
    from django_thinkific.testing.fake_api import FakeThinkificAPI

    fake_api = FakeThinkificAPI(
        base_url=settings.THINKIFIC["API_BASE_URL"],
        api_key=settings.THINKIFIC["API_KEY"],
        allow_insecure_targets=True,
        state_file=settings.BASE_DIR / ".fake-thinkific.json",
    )
    urlpatterns.append(path("fake-thinkific/api/v2/<path:path>", csrf_exempt(fake_api.django_view)))
