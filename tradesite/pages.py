"""Site-wide small pages: ``/favicon.ico`` (a permanent redirect to the SVG icon
``static/tradesite/favicon.svg``; base.html links the SVG itself with ``<link rel="icon">``)."""

from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.views.decorators.http import require_GET


@require_GET
def favicon(request):
    """301 to the static SVG icon."""
    return HttpResponsePermanentRedirect(static("tradesite/favicon.svg"))
