"""The OpenAPI 3 schema (``/api/v1/schema/``) and its docs page (``/api/v1/docs/``): Swagger
UI from the project's own static files (drf-spectacular-sidecar), its start-up script a file
of its own, so that the page runs under the Content-Security-Policy (no inline script, nothing
from another server). Both are public: the schema holds no data."""

from django.utils import translation
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny


class SchemaView(SpectacularAPIView):
    """The schema in English whatever the client's language, as docs/api/openapi.yaml is
    committed: one schema, its choices' labels included, for every client."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def dispatch(self, request, *args, **kwargs):
        with translation.override("en"):
            response = super().dispatch(request, *args, **kwargs)
            response.render()  # here, where the labels are read in English
        return response


class DocsView(SpectacularSwaggerSplitView):
    template_name = "scheduling/api/docs.html"
    authentication_classes = []
    permission_classes = [AllowAny]
