"""The participant's public pages: a reminder's links (scheduling.replies.views)."""

from django.urls import path

from scheduling.replies import views as reply_views

app_name = "replies"
urlpatterns = [
    path(
        "<str:token>/<str:action>/",
        reply_views.reply,
        name="reply",
    ),
]
