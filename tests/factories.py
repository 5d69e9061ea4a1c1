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
