"""Two-factor sign-in for staff: a TOTP authenticator app (django-otp) after the password.

The rule: a user who has set up an authenticator app gives its 6-digit code once per session
before any admin page; superusers and site managers must set one up first when
``settings.REQUIRE_2FA`` is on (by default outside DEBUG). Any other staff user may set one up
from the *Two-factor sign-in* page. An administrator resets a user's app by deleting their
device in the admin (*OTP_TOTP › TOTP devices*); the user then sets up a new one at their next
sign-in. Wrong codes are throttled by django-otp (each failure doubles the wait).
"""

import time
from urllib.parse import urlencode

import django_otp
import segno
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key

from participants import roles

DEVICE_NAME = "Authenticator app"
SETUP_KEY_SESSION = "two_factor_setup_key"


def two_factor_required(user) -> bool:
    """Whether ``user`` must have an authenticator app: superusers and site managers, when
    ``REQUIRE_2FA`` is on."""
    if not settings.REQUIRE_2FA or not user.is_authenticated:
        return False
    return user.is_superuser or user.groups.filter(name=roles.SITE_MANAGER).exists()


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


OWES_CODE = "code"  # has an app: give its code
OWES_SETUP = "setup"  # must have an app and has none: set one up


def what_user_owes(user) -> str:
    """``OWES_CODE``, ``OWES_SETUP`` or "" (nothing) for a signed-in user not yet verified.

    Judged from the user's roles as they stand now, on every admin request of a session not
    yet verified (one query): a coordinator who signed in with a password only and is then
    made a superuser or a site manager owes a code (or a set-up) at their very next page,
    not at their next sign-in."""
    from django.db.models import Exists, OuterRef

    facts = (
        get_user_model()
        .objects.filter(pk=user.pk)
        .annotate(
            has_device=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)),
            is_site_manager=Exists(
                get_user_model().groups.through.objects.filter(
                    **{f"{get_user_model()._meta.model_name}_id": OuterRef("pk")},
                    group__name=roles.SITE_MANAGER,
                )
            ),
        )
        .values("is_superuser", "has_device", "is_site_manager")
        .first()
    )
    if facts is None:
        return ""
    if facts["has_device"]:
        return OWES_CODE
    required = settings.REQUIRE_2FA and (facts["is_superuser"] or facts["is_site_manager"])
    return OWES_SETUP if required else ""


class TwoFactorMiddleware:
    """Sends a signed-in user who owes a code to the verify page, and one who must set up an
    app and has none to the set-up page, before any admin page (their own set-up and verify
    pages, logout and the admin's JavaScript catalogue excepted). Pages outside the admin (the
    participants' reply pages, /healthz) are not staff pages and are left alone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        target = self.redirect_for(request)
        return redirect(target) if target else self.get_response(request)

    def redirect_for(self, request) -> str | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.is_verified():
            return None
        if not request.path.startswith(reverse("admin:index")) or request.path in (
            reverse("two_factor_setup"),
            reverse("two_factor_verify"),
            reverse("admin:logout"),
            reverse("admin:jsi18n"),
        ):
            return None
        owes = what_user_owes(user)
        if not owes:
            return None
        page = "two_factor_verify" if owes == OWES_CODE else "two_factor_setup"
        return f"{reverse(page)}?{urlencode({'next': request.get_full_path()})}"


class CodeForm(forms.Form):
    code = forms.RegexField(
        regex=r"^\s*\d{6}\s*$",
        label=_("6-digit code"),
        max_length=12,
        error_messages={"invalid": "Enter the 6 digits your authenticator app shows."},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_code(self):
        return self.cleaned_data["code"].strip()


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("admin:index")


def _page(request, template, **context):
    return TemplateResponse(
        request,
        template,
        {**admin.site.each_context(request), "next": _next_url(request), **context},
    )


@never_cache
@sensitive_post_parameters("code")
@login_required(login_url="admin:login")
def setup(request):
    """Set up an authenticator app: show a new key (otpauth:// address and QR code) and save
    the device, confirmed, once the user has typed a code it shows. Until then the key lives
    in the session only, so an abandoned set-up leaves nothing behind."""
    if not request.user.is_staff:
        return redirect("admin:login")
    if confirmed_device(request.user) is not None:
        # A new app needs an administrator's reset: otherwise whoever holds a signed-in
        # session (or the password, for a user with no app required) could replace it.
        messages.info(request, gettext("Two-factor sign-in is already set up for your account."))
        return redirect(_next_url(request))
    key = request.session.get(SETUP_KEY_SESSION) or default_key()
    request.session[SETUP_KEY_SESSION] = key
    device = TOTPDevice(user=request.user, key=key, name=DEVICE_NAME, confirmed=True)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        totp.time = time.time()
        if totp.verify(int(form.cleaned_data["code"]), device.tolerance):
            with transaction.atomic():
                # One set-up at a time per user: two tabs confirming at once save one device.
                get_user_model().objects.select_for_update().get(pk=request.user.pk)
                if confirmed_device(request.user) is None:
                    device.last_t = totp.t()  # this code cannot be used again to sign in
                    device.drift = totp.drift
                    device.save()
            del request.session[SETUP_KEY_SESSION]
            device = confirmed_device(request.user)
            django_otp.login(request, device)
            messages.success(request, gettext("Two-factor sign-in is set up."))
            return redirect(_next_url(request))
        form.add_error(
            "code", gettext("That code is not the one your app shows now. Try the next one.")
        )
    address = device.config_url
    return _page(
        request,
        "admin/two_factor_setup.html",
        title=gettext("Set up two-factor sign-in"),
        form=form,
        otpauth_address=address,
        qr_code=segno.make(address, error="m").svg_data_uri(scale=5, border=2),
        required=two_factor_required(request.user),
    )


@never_cache
@sensitive_post_parameters("code")
@login_required(login_url="admin:login")
def verify(request):
    """Ask for the code of the user's authenticator app, once per session."""
    device = confirmed_device(request.user)
    if device is None:
        # Reset by an administrator meanwhile: the middleware judges again what this user owes.
        return redirect(_next_url(request))
    if request.user.is_verified():
        return redirect(_next_url(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # Asked before trying: a try during the throttle's wait is refused unheard.
        allowed, _ = device.verify_is_allowed()
        verified = django_otp.verify_token(
            request.user, device.persistent_id, form.cleaned_data["code"]
        )
        if verified is not None:
            django_otp.login(request, verified)
            return redirect(_next_url(request))
        form.add_error(
            "code",
            gettext("That code is not right. Try the next one your app shows.")
            if allowed
            else gettext("Too many wrong codes in a row: wait a few seconds before the next try."),
        )
    return _page(
        request, "admin/two_factor_verify.html", title=gettext("Two-factor sign-in"), form=form
    )
