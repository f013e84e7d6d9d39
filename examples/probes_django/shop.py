"""shop: a one-file Django service with no probe code in it.

POST /users/<user_id>/orders/ takes a JSON order and answers it as JSON;
POST /users/<user_id>/notes/ takes a urlencoded form; GET /health. Run it
under `lineage-probe run --service shop -- gunicorn --chdir examples/probes_django
shop:application` (WSGI); its requests are then `web://shop/users/{user_id}/orders`
and `web://shop/users/{user_id}/notes`.
"""

from __future__ import annotations

import json

import django
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.http import require_POST

settings.configure(
    DEBUG=False, SECRET_KEY="example-only", ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"], INSTALLED_APPS=[], DATABASES={},
    MIDDLEWARE=["django.middleware.common.CommonMiddleware"])
django.setup()


def health(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"ok": True})


@require_POST
def order(request: HttpRequest, user_id: int) -> HttpResponse:
    body = json.loads(request.body)
    return JsonResponse({"user_id": user_id, "ship_to": body["city"],
                         "items": int(body.get("qty", 1))})


@require_POST
def note(request: HttpRequest, user_id: int) -> HttpResponse:
    return JsonResponse({"user_id": user_id, "chars": len(request.POST.get("note", ""))})


urlpatterns = [
    path("health", health),
    path("users/<int:user_id>/orders/", order),
    path("users/<int:user_id>/notes/", note),
]

application = get_wsgi_application()
