import datetime

import time_machine

from scheduling.models import Visit


@time_machine.travel(datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC), tick=False)
def test_new_participant_gets_every_visit_of_the_plan(make_participant):
    participant = make_participant(consent_date=datetime.date(2026, 1, 5))
    codes = list(Visit.objects.filter(participant=participant).values_list("code", flat=True))
    assert len(codes) == 14
    assert codes[0] == "SCR"
