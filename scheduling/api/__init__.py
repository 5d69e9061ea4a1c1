"""The REST API under ``/api/v1/`` (Django REST framework; issue 25): thin views and
serializers over the same services as the admin and the command line, with the same site
scoping, token authentication and Idempotency-Key replays. At the top, beside the admin."""
