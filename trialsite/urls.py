from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from .health import healthz

admin.site.site_header = "Trial site: participant timelines and visits"
admin.site.site_title = "Trial site"
admin.site.index_title = "Site workspace"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]
