import factory

from participants.models import Site


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"S{n:02d}")
    name = factory.LazyAttribute(lambda o: f"Site {o.code}")
    timezone = "Europe/Berlin"
    coordinator_email = factory.LazyAttribute(lambda o: f"coordinator-{o.code.lower()}@example.org")
    address = "1 Clinic Road"
    phone = "+1 555 0100"
    # Open every day, so a test about the protocol's dates sees each appointment on its planned
    # date; tests of the clinic calendar set open days, holidays and closures themselves.
    open_days = "1234567"
