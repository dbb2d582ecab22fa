"""Container health check: exit 0 when the app's /healthz answers 200, 1 otherwise.

Run by the image's HEALTHCHECK. It asks gunicorn on 127.0.0.1:$PORT but sends a Host
header the site accepts (the first usable entry of DJANGO_ALLOWED_HOSTS), because Django
rejects a request whose host it does not serve.
"""

import os
import sys
import urllib.error
import urllib.request


def allowed_host() -> str:
    for entry in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(","):
        host = entry.strip().lstrip(".")
        if host and host != "*":
            return host
    return "localhost"


def main() -> int:
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz"
    request = urllib.request.Request(url, headers={"Host": allowed_host()})
    try:
        with urllib.request.urlopen(request, timeout=4) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError as error:
        print(f"healthcheck: {url} unreachable: {error}", file=sys.stderr)
        return 1
    print(f"healthcheck: {url} answered {status}")
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
