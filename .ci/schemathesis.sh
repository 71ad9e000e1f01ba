#!/usr/bin/env bash
# Schemathesis over the full OpenAPI schema against a live server (uvicorn, the production server) on a
# fresh SQLite database with a demo user: no 5xx (not_a_server_error) and every response
# conforming to the schema. Fixed example budget (SCHEMATHESIS_MAX_EXAMPLES, default 10 per
# operation and phase) so the run stays under ~5 minutes on 2 cores.
# Usage: .ci/schemathesis.sh   (env: SCHEMATHESIS_PORT, default 18300; SCHEMATHESIS_MAX_EXAMPLES)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python)"
ST="$(dirname "$PY")/schemathesis"
PORT="${SCHEMATHESIS_PORT:-18300}"
WORK="$(mktemp -d)"
export SQLITE_PATH="$WORK/db.sqlite3" SECRET_KEY="schemathesis-$RANDOM$RANDOM" DEBUG=0
export DATABASE_URL="" REDIS_URL="" CELERY_BROKER_URL="" JWT_ACCESS_MINUTES=60
export KRX_ENFORCE_SESSION=0
cleanup() { [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

"$PY" manage.py migrate --noinput --verbosity 0
"$PY" manage.py load_demo_data >/dev/null
TOKEN="$("$PY" manage.py shell -c '
from django.contrib.auth import get_user_model
from accounts import services
from accounts.tokens import FamilyRefreshToken
user = services.user_create(username="schemathesis", email="st@example.com", password="st-Corr3ct-horse-42")
print(FamilyRefreshToken.for_user(user).access_token)
' 2>/dev/null | tail -n 1)"

"$(dirname "$PY")/uvicorn" tradesite.asgi:application --host 127.0.0.1 --port "$PORT" >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 60); do
  curl -sf "http://127.0.0.1:$PORT/api/schema/" -o /dev/null && break
  sleep 1
done

status=0
"$ST" run "http://127.0.0.1:$PORT/api/schema/" \
  --url "http://127.0.0.1:$PORT" \
  -H "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error,response_schema_conformance \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-10}" \
  --workers 2 --seed 12 --no-color --request-timeout 60 \
  --report junit --report-dir "$WORK/report" || status=$?
echo "requests answered: $(grep -cE '" [1-5][0-9]{2}' "$WORK/server.log" || true), of them 5xx: $(grep -cE '" 5[0-9]{2}' "$WORK/server.log" || true)"
grep -E 'Traceback|Error' "$WORK/server.log" | sort | uniq -c | sort -rn | head -20 || true
exit "$status"
