"""Sites' calendar feeds in the admin (docs/calendar-feeds.md): staff who manage
participants make a feed of one of their sites, see its URL once, and revoke it; monitors
read the list. Thin: each write is one call of ``scheduling.exports.feeds``.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponse, HttpResponseNotAllowed
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from participants.admin import SiteScopedAdmin
from participants.admin.refusals import report_errors
from scheduling.exports.calendars import participant_calendar
from scheduling.exports.feeds import create_feed, revoke_feed
from scheduling.models import CalendarFeed


class RevokeFeedsForm(forms.Form):
    reason = forms.CharField(
        label=_("Why"),
        max_length=500,
        widget=forms.TextInput(attrs={"size": 60}),
        help_text=_("Kept in each feed's history, with who revoked it and when."),
    )


class CalendarFeedForm(forms.ModelForm):
    class Meta:
        model = CalendarFeed
        fields = ["site", "label"]


@admin.register(CalendarFeed)
class CalendarFeedAdmin(SiteScopedAdmin):
    form = CalendarFeedForm
    list_display = ["label", "site", "prefix", "created_at", "revoked_at", "last_fetched_at"]
    list_select_related = ["site"]
    readonly_fields = [
        "site",
        "label",
        "prefix",
        "created_at",
        "created_by",
        "revoked_at",
        "revoked_by",
        "last_fetched_at",
    ]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False  # revoked, never deleted: who made and revoked it stays

    def save_model(self, request, obj, form, change):
        if change:
            return
        feed, secret = create_feed(
            form.cleaned_data["site"], label=form.cleaned_data["label"], by=request.user
        )
        obj.pk = feed.pk
        url = request.build_absolute_uri(f"/feeds/{secret}.ics")
        messages.warning(
            request,
            gettext("Feed URL, shown only now: copy it into the calendar app: %(url)s")
            % {"url": url},
        )

    def save_related(self, request, form, formsets, change):
        pass

    def log_addition(self, request, obj, message):
        pass  # the feed's history says who made it

    @admin.action(description=_("Revoke the selected calendar feeds"), permissions=["change"])
    def revoke(self, request, queryset):
        """A page that lists the feeds and asks why; on "Revoke", all of them or none, the
        reason kept in each feed's history (as Django's "Delete selected" asks first)."""
        feeds = list(queryset.select_related("site").order_by("site__code", "label", "pk"))
        form = RevokeFeedsForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            try:
                with transaction.atomic():
                    for feed in feeds:
                        revoke_feed(feed, by=request.user, reason=form.cleaned_data["reason"])
            except ValidationError as error:
                report_errors(request, error)
                return None
            self.message_user(
                request,
                ngettext(
                    "%(count)d calendar feed revoked: its URL no longer answers.",
                    "%(count)d calendar feeds revoked: their URLs no longer answer.",
                    len(feeds),
                )
                % {"count": len(feeds)},
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Revoke calendar feeds"),
            "opts": self.model._meta,
            "feeds": feeds,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/scheduling/calendarfeed/revoke.html", context)


class ParticipantCalendarPages:
    """Mixed into the participant admin (``SiteScopedAdmin``): the participant's .ics of
    every future appointment, each event the reminder's (``exports.calendars``), for staff
    to hand to them. Scoped like their page: another site's participant is a 404."""

    def participant_calendar_urls(self):
        return [
            path(
                "<path:object_id>/appointments.ics",
                self.admin_site.admin_view(self.participant_calendar_view),
                name="participant_calendar_ics",
            )
        ]

    def participant_calendar_view(self, request, object_id):
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET"])
        participant = self.in_scope_or_404(request, object_id)
        if not self.has_view_or_change_permission(request, participant):
            raise PermissionDenied
        body = participant_calendar(participant, now=timezone.now())
        response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
        # Subject ids are letters, digits, "-", "_" and "." (validators): safe in a file name.
        response["Content-Disposition"] = (
            f'attachment; filename="appointments-{participant.subject_id}.ics"'
        )
        response["Cache-Control"] = "no-store"
        return response
