import os

from django.core.wsgi import get_wsgi_application

from trialsite.startup import load_settings_or_exit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialsite.settings")
load_settings_or_exit()
application = get_wsgi_application()
