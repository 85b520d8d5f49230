"""The benchmark's floor: the least a webhook endpoint can do (bench/receiver_bench.py).

Read the body, one INSERT into a table with a unique key, answer. Mounted at
``/bench/floor/`` only when ``BENCH_FLOOR`` is set; the benchmark creates the
table itself.
"""

import hashlib

from django.db import connection
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

TABLE_SQL = "CREATE TABLE IF NOT EXISTS bench_floor (key char(40) PRIMARY KEY, body bytea NOT NULL)"


@csrf_exempt
def floor(request):
    body = request.body
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_floor (key, body) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            [hashlib.sha1(body).hexdigest(), body],  # noqa: S324  (a key, not security)
        )
    return HttpResponse(b'{"ok": true}', content_type="application/json")
