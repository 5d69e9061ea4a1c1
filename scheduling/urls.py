"""The participant's public pages: a reminder's links (scheduling.reply_views)."""

from django.urls import path

from . import reply_views

app_name = "replies"
urlpatterns = [
    path(
        "<str:token>/<str:action>/",
        reply_views.reply,
        name="reply",
    ),
]
