"""The participant admin: its form, and the participant page that composes the pages mixed
into it (the list's filters and columns in ``participant_list``, transitions in
``transitions``, visit rows in ``visit_rows``, eligibility in ``eligibility``, the contact log
in ``contact_log``, a visit's day picker in ``appointments``, the audit trail in
``audit_trail``)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.translation import gettext

from participants import eligibility, roles
from participants.admin import (
    ReasonForChangeAdmin,
    ReasonForChangeForm,
    SiteScopedAdmin,
    errors_onto_form,
)
from participants.admin.network import CappedCountPaginator, user_site_filter
from participants.lifecycle import create_participant, set_reminders, validate_new_participant
from participants.models import PARTICIPANT_LANGUAGES, Participant, Protocol, Status
from participants.selectors import effective_transitions, suggested_subject_id
from scheduling.admin.appointments import AppointmentPages
from scheduling.admin.audit_trail import AuditTrailPages
from scheduling.admin.calendar_feeds import ParticipantCalendarPages
from scheduling.admin.contact_log import ContactLogPages, contact_log
from scheduling.admin.eligibility import EligibilityPages
from scheduling.admin.exports import export_schedule
from scheduling.admin.participant_list import (
    NextVisitThisWeekFilter,
    NoShowFilter,
    OverdueFilter,
    ParticipantListColumns,
    PhaseFilter,
)
from scheduling.admin.reconsent import ReconsentPages, may_reconsent
from scheduling.admin.transitions import TransitionInline, TransitionPages, transition_form
from scheduling.admin.visit_rows import VisitRowPages, unscheduled_form, visit_rows
from scheduling.timeline.schedules import rebuild_schedule
from scheduling.workspace import participant_list as workspace
from scheduling.workspace import participant_page


class ParticipantForm(ReasonForChangeForm):
    class Meta:
        model = Participant
        fields = ["protocol", "site", "subject_id", "email", "language", "consent_date"]

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None and not self.errors:
            try:
                validate_new_participant(
                    protocol=cleaned["protocol"],
                    site=cleaned["site"],
                    subject_id=cleaned["subject_id"],
                    consent_date=cleaned["consent_date"],
                )
            except ValidationError as error:
                errors_onto_form(self, error)
        return cleaned


@admin.register(Participant)
class ParticipantAdmin(
    ParticipantListColumns,
    TransitionPages,
    VisitRowPages,
    EligibilityPages,
    ContactLogPages,
    AppointmentPages,
    AuditTrailPages,
    ParticipantCalendarPages,
    ReconsentPages,
    ReasonForChangeAdmin,
    SiteScopedAdmin,
):
    """The participant list and page. The page's small forms each post to one service, through
    the pages mixed in here: transitions, visit rows, eligibility, the contact log and the day
    picker of a visit; and its audit trail."""

    form = ParticipantForm
    change_form_template = "admin/scheduling/participant/change_form.html"
    list_display = [
        "subject_id",
        "site_code",
        "status_badge",
        "study_day_today",
        "next_visit",
        "overdue",
        "reminders_enabled",
    ]
    list_filter = [
        user_site_filter("site"),
        "status",
        PhaseFilter,
        NextVisitThisWeekFilter,
        OverdueFilter,
        NoShowFilter,
    ]
    search_fields = ["subject_id"]
    list_select_related = ["site"]
    list_per_page = 100
    # Counted once, up to a cap (participants.admin.network.CappedCountAdmin, spelt out here).
    paginator = CappedCountPaginator
    show_full_result_count = False
    actions = [export_schedule]
    inlines = [TransitionInline]

    class Media:
        css = {
            "all": [
                "scheduling/workspace.css",
                "scheduling/appointments.css",
                "scheduling/answers.css",
                "scheduling/phone.css",
            ]
        }
        # The admin's "Today" and calendar beside the page's date inputs (vDateField): the
        # day in the participant's site's zone, which the page is read in.
        js = ["admin/js/calendar.js", "admin/js/admin/DateTimeShortcuts.js"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return workspace.with_schedule_summary(queryset, self._sites(request))

    def _sites(self, request):
        if not hasattr(request, "_workspace_sites"):
            request._workspace_sites = list(roles.user_sites(request.user))
        return request._workspace_sites

    def get_changeform_initial_data(self, request):
        """A new participant: the protocol and the site chosen already when there is only one
        to choose (the only protocol, the user's only site), and consent today at that site
        (its day, not UTC's: late afternoon in California, UTC is already tomorrow)."""
        initial = super().get_changeform_initial_data(request)
        protocols = list(Protocol.objects.values_list("pk", flat=True)[:2])
        if len(protocols) == 1:
            initial.setdefault("protocol", protocols[0])
        sites = self._sites(request)
        if len(sites) == 1:
            initial.setdefault("site", sites[0].pk)
            initial.setdefault("consent_date", sites[0].today())
        if "protocol" in initial and "site" in initial:
            suggestion = suggested_subject_id(initial["protocol"], initial["site"])
            if suggestion:
                initial.setdefault("subject_id", suggestion)
        return initial

    def get_inlines(self, request, obj):
        # A new participant has no transitions yet: consent is their first, recorded on save.
        return [] if obj is None else super().get_inlines(request, obj)

    def get_fields(self, request, obj=None):
        fields = ["protocol", "site", "subject_id", "email", "language", "consent_date"]
        if obj is not None:
            fields += ["status", "left_on", "reminders_enabled", "change_reason"]
            if not self.has_change_permission(request, obj):
                # Contact details only where needed: read-only roles do not see them.
                fields = [f for f in fields if f not in {"email", "change_reason"}]
        return fields

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["protocol", "subject_id", "consent_date", "status", "left_on", "reminders_enabled"]

    def has_delete_permission(self, request, obj=None):
        return False  # a participant who leaves is a transition; history is never deleted

    def history_hidden_fields(self, request):
        # Contact details only where needed: read-only roles see who changed the email and
        # why, not the addresses.
        return set() if self.has_change_permission(request) else {"email"}

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            if "site" in form.changed_data:
                # Another site keeps another time zone: "today" and reminder times follow it.
                rebuild_schedule(obj, by=request.user, reason=getattr(obj, "_change_reason", ""))
            return
        created = create_participant(
            protocol=obj.protocol,
            site=obj.site,
            subject_id=obj.subject_id,
            email=obj.email,
            consent_date=obj.consent_date,
            language=obj.language,
            by=request.user,
        )
        obj.pk = created.pk
        obj.status = created.status

    # The participant page: its own small forms, each posting to one service.

    def get_urls(self):
        return [
            *self.transition_urls(),
            *self.visit_row_urls(),
            path(
                "<path:object_id>/reminders/",
                self.admin_site.admin_view(self.reminders_view),
                name="participant_reminders",
            ),
            *self.eligibility_urls(),
            *self.appointment_urls(),
            *self.contact_log_urls(),
            *self.audit_trail_urls(),
            *self.participant_calendar_urls(),
            *self.reconsent_urls(),
        ] + super().get_urls()

    def _writable(self, request, object_id) -> Participant:
        participant = self.in_scope_or_404(request, object_id)
        if request.method != "POST" or not self.has_change_permission(request, participant):
            raise PermissionDenied
        return participant

    def _back(self, participant, anchor=""):
        url = reverse("admin:participants_participant_change", args=[participant.pk])
        return HttpResponseRedirect(f"{url}#{anchor}" if anchor else url)

    def reminders_view(self, request, object_id):
        participant = self._writable(request, object_id)
        enabled = request.POST.get("enabled") == "1"
        set_reminders(
            participant,
            enabled,
            reason=request.POST.get("reason", "").strip(),
            by=request.user,
        )
        messages.success(
            request, gettext("Reminders are on.") if enabled else gettext("Reminders are off.")
        )
        return self._back(participant, "reminders")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        participant = self.in_scope_or_404(request, object_id)
        timeline = participant_page.participant_timeline(participant)
        reminders, cancelled_reminders = participant_page.participant_reminders(participant)
        can_change = self.has_change_permission(request, participant)
        languages = dict(PARTICIPANT_LANGUAGES)
        context = {
            "timeline": timeline,
            "visit_rows": visit_rows(participant, timeline, can_change),
            "can_change": can_change,
            "transition_form": transition_form(request, participant, timeline.today, can_change),
            "unscheduled_form": unscheduled_form(participant, timeline.today, can_change),
            "lifecycle": effective_transitions(participant),
            "checklist": eligibility.checklist(participant),
            "eligibility_open": participant.status == Status.SCREENING,
            "may_confirm": roles.may_confirm_eligibility(request.user),
            "unmet": eligibility.unmet(participant),
            "reminders": reminders,
            "cancelled_reminders": cancelled_reminders,
            "participant": participant,
            "calendar_url": reverse("admin:scheduling_visit_calendar")
            + f"?site={participant.site.code}",
            "contact_log": contact_log(participant),
            "contact_form": self.contact_log_form(request, participant),
            "reminder_language": languages.get(participant.reminder_language, ""),
            "language_is_sites": not participant.language,
            "take_ups": participant_page.take_ups(participant),
            "may_reconsent": participant.is_active and may_reconsent(request.user),
        }
        context.update(extra_context or {})
        return super().change_view(request, object_id, form_url, context)
