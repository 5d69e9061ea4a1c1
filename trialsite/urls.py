from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from .health import healthz

admin.site.site_header = "Trial site: participant timelines and visits"
admin.site.site_title = "Trial site"
admin.site.index_title = "Site workspace"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    # A reminder's links ("I'll be there", "I need another date", "Stop reminders"): public.
    path("r/", include("scheduling.urls")),
]
