"""API tokens (docs/api.md): a staff user issues one for themselves (a superuser for anyone);
its key is shown once, in the message after saving, and never again; "Revoke" records who
and when. The list shows each token's prefix and state, never a key."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from participants.api_tokens import ApiToken, issue_token, revoke_tokens


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["user", "name"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = ["prefix", "name", "user", "created_at", "last_used_at", "active"]
    list_select_related = ["user"]
    actions = ["revoke"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(user=request.user)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if "user" in form.base_fields:
            users = get_user_model().objects.filter(is_active=True, is_staff=True)
            if not request.user.is_superuser:
                users = users.filter(pk=request.user.pk)
            form.base_fields["user"].queryset = users
            form.base_fields["user"].initial = request.user.pk
        return form

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [
            "user",
            "name",
            "prefix",
            "created_at",
            "created_by",
            "last_used_at",
            "revoked_at",
            "revoked_by",
        ]

    def has_change_permission(self, request, obj=None):
        return False  # a token is issued or revoked, never edited

    def has_add_permission(self, request):
        return bool(request.user.is_active and request.user.is_staff)

    def has_view_permission(self, request, obj=None):
        return bool(request.user.is_active and request.user.is_staff)

    def has_module_permission(self, request):
        return bool(request.user.is_active and request.user.is_staff)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(boolean=True, description=_("active"))
    def active(self, obj):
        return obj.is_active

    def save_model(self, request, obj, form, change):
        try:
            token, key = issue_token(obj.user, name=obj.name, by=request.user)
        except ValidationError as error:
            for sentence in error.messages:
                messages.error(request, sentence)
            return
        obj.pk = token.pk
        self.message_user(
            request,
            _("The token’s key, shown only now: %(key)s") % {"key": key},
            messages.WARNING,
        )

    def log_addition(self, request, obj, message):
        if obj.pk:
            super().log_addition(request, obj, message)

    def response_add(self, request, obj, post_url_continue=None):
        return HttpResponseRedirect(reverse("admin:participants_apitoken_changelist"))

    @admin.action(description=_("Revoke"))
    def revoke(self, request, queryset):
        count = revoke_tokens(queryset, by=request.user)
        self.message_user(
            request,
            ngettext(
                "%(count)d token revoked: its key is refused from now on.",
                "%(count)d tokens revoked: their keys are refused from now on.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )
