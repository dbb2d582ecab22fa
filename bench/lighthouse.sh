#!/usr/bin/env bash
# `make lighthouse`: serve the app as production does (bench/serve.sh) and run Lighthouse
# mobile on every public page type with bench/lighthouse.mjs (Debian's Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
export CLINIC_BOOKING_MIN_SECONDS=1

source bench/serve.sh

# A request with a manage link, as the patient's email would carry it (no email is sent).
LIGHTHOUSE_MANAGE_PATH=$($PY manage.py shell -v 0 -c '
from django.urls import reverse
from consultations.services import consultation_request_create
from consultations.tokens import manage_token_make
request = consultation_request_create(
    slot=None, full_name="Lighthouse Patient", email="lighthouse@example.com",
    phone="(212) 555-0123", preferred_contact="email", state="NY", has_therapist="no",
    preferred_times="Weekday mornings", notify=False)
print(reverse("consultations:manage", args=[manage_token_make(request)]))
')
export LIGHTHOUSE_MANAGE_PATH LIGHTHOUSE_BASE="http://127.0.0.1:$PORT"
node bench/lighthouse.mjs
