from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from participants import staff_language, two_factor

from . import health
from .admin_dates import bound_date_hierarchies

admin.site.site_header = _("Trial site: participant timelines and visits")
admin.site.site_title = _("Trial site")
admin.site.index_title = _("Site workspace")
bound_date_hierarchies(admin.site)

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    # Two-factor sign-in (participants/two_factor.py): before the admin's catch-all URLs.
    path("admin/two-factor/setup/", two_factor.setup, name="two_factor_setup"),
    path("admin/two-factor/verify/", two_factor.verify, name="two_factor_verify"),
    path("admin/language/", staff_language.language_page, name="staff_language"),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("healthz/dispatch", health.dispatch, name="healthz_dispatch"),
    # A reminder's links ("I'll be there", "I need another date", "Stop reminders"): public.
    path("r/", include("scheduling.replies.urls")),
    # A site's calendar feed at its secret URL (docs/calendar-feeds.md): public, revocable.
    path("feeds/", include("scheduling.exports.urls")),
    # The REST API, its OpenAPI schema and docs page (scheduling/api/, docs/api.md).
    path("api/v1/", include("scheduling.api.urls")),
]
