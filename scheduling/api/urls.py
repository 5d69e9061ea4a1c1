"""``/api/v1/``: the endpoints (docs/api.md), the OpenAPI schema and its docs page. Any other
path under it is a JSON 404."""

from django.urls import path, re_path

from scheduling.api import docs, views, write_views
from scheduling.api.errors import not_found

app_name = "api"

urlpatterns = [
    path("sites/", views.SiteList.as_view(), name="sites"),
    path("sites/<int:pk>/", views.SiteDetail.as_view(), name="site"),
    path("protocols/", views.ProtocolList.as_view(), name="protocols"),
    path("protocols/<int:pk>/", views.ProtocolDetail.as_view(), name="protocol"),
    path("participants/", write_views.ParticipantList.as_view(), name="participants"),
    path("participants/<int:pk>/", views.ParticipantDetail.as_view(), name="participant"),
    path(
        "participants/<int:pk>/transitions/",
        write_views.TransitionList.as_view(),
        name="transitions",
    ),
    path(
        "participants/<int:pk>/contact-attempts/",
        write_views.ContactAttemptList.as_view(),
        name="contact_attempts",
    ),
    path("visits/", views.VisitList.as_view(), name="visits"),
    path("visits/<int:pk>/", views.VisitDetail.as_view(), name="visit"),
    path("visits/<int:pk>/actual-date/", write_views.VisitActualDate.as_view(), name="actual_date"),
    path(
        "visits/<int:pk>/appointment/", write_views.VisitAppointment.as_view(), name="appointment"
    ),
    path("reminders/", views.ReminderList.as_view(), name="reminders"),
    path("reminders/<int:pk>/", views.ReminderDetail.as_view(), name="reminder"),
    path("schema/", docs.SchemaView.as_view(), name="schema"),
    path("docs/", docs.DocsView.as_view(url_name="api:schema"), name="docs"),
    re_path(r"^.*$", not_found),
]
