"""The sites' calendar feeds' public URLs (scheduling.exports.views)."""

from django.urls import path

from scheduling.exports import views as feed_views

app_name = "feeds"
urlpatterns = [
    path("<str:secret>.ics", feed_views.site_feed_view, name="site_feed"),
]
