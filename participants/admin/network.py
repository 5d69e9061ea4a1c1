"""What keeps a list of the workspace as fast for a monitor of a whole network as for one
site's coordinator: none of its parts reads every row the list could show.

- :class:`CappedCountPaginator`: counts up to ``COUNT_CAP`` rows, then says "more than"
  (Django's paginator counts every row, and the admin counts them twice).
- :func:`user_site_filter`: the site filter offers the user's sites, read from the sites
  table (Django's ``RelatedOnlyFieldListFilter`` reads every row for the distinct sites).
- :class:`CappedCountAdmin`: both, for a list's admin.
"""

from django.contrib import admin
from django.core.paginator import Paginator
from django.utils.functional import cached_property

from participants import roles

COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    """A paginator that counts at most ``COUNT_CAP`` + 1 rows (one LIMITed count, walking an
    index); past the cap ``capped`` is true and the pages stop at the cap."""

    cap = COUNT_CAP

    @cached_property
    def count(self):
        return min(self.object_list[: self.cap + 1].count(), self.cap + 1)

    @property
    def capped(self) -> bool:
        return self.count > self.cap


def user_site_filter(site_path: str, title: str = "site"):
    """A list filter by the user's sites, on the URL parameter ``{site_path}__id__exact``
    (the one Django's related filter uses, so links and bookmarks keep working)."""

    class UserSiteFilter(admin.SimpleListFilter):
        parameter_name = f"{site_path}__id__exact"

        def lookups(self, request, model_admin):
            return [(str(site.pk), str(site)) for site in roles.user_sites(request.user)]

        def has_output(self):
            return len(self.lookup_choices) > 1  # one site: nothing to choose, as Django's

        def queryset(self, request, queryset):
            if self.value() is None:
                return queryset
            try:
                site_id = int(self.value())
            except ValueError:
                return queryset.none()
            return queryset.filter(**{f"{site_path}_id": site_id})

    UserSiteFilter.title = title
    return UserSiteFilter


class CappedCountAdmin:
    """A list counted up to the cap, without the admin's second count of every row."""

    paginator = CappedCountPaginator
    show_full_result_count = False
