"""Date parameters in admin addresses never cost a 500.

Django's date hierarchy (``?planned_date__year=…``, on our lists and on django-axes' and
django-celery-beat's) turns the parameters into a ``datetime`` and catches ``ValueError`` only:
a year of twenty digits raises ``OverflowError`` and the page fails. Every registered admin
with a date hierarchy gets a change list that treats it as any other bad filter (Django's
``IncorrectLookupParameters``: the list is shown again unfiltered, with ``?e=1``).
"""

from django.contrib.admin.options import IncorrectLookupParameters


def _bounded(change_list: type) -> type:
    class BoundedDates(change_list):
        def get_filters(self, request):
            try:
                return super().get_filters(request)
            except OverflowError as error:
                raise IncorrectLookupParameters(f"a date out of range: {error}") from error

    BoundedDates.__name__ = BoundedDates.__qualname__ = f"BoundedDates{change_list.__name__}"
    return BoundedDates


def bound_date_hierarchies(site) -> None:
    """Wrap the change list of each admin of ``site`` that has a date hierarchy."""
    for model_admin in site._registry.values():
        if not model_admin.date_hierarchy or getattr(model_admin, "_dates_bounded", False):
            continue
        original = model_admin.get_changelist
        made: dict[type, type] = {}

        def get_changelist(request, _original=original, _made=made, **kwargs):
            base = _original(request, **kwargs)
            if base not in _made:
                _made[base] = _bounded(base)
            return _made[base]

        model_admin.get_changelist = get_changelist
        model_admin._dates_bounded = True
