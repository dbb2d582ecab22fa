# Two commands do everything: `make run` and `make test`. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Settings for the production-like checks (a throwaway key; nothing is served with it).
DEPLOY_ENV := DJANGO_DEBUG=0 DJANGO_ALLOWED_HOSTS=clinic.example \
	DJANGO_SECRET_KEY=$(shell $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')

.PHONY: run test install install-dev lint check pytest browser lock lock-check test-clock clean bench bench-scale lighthouse css restore-check

# The venv's bundled pip (23.x on Debian and pyenv) mis-resolves extras under
# --require-hashes, so it installs only uv, pinned and hash-checked, with --no-deps; uv
# then makes the venv match the lock exactly (see README, "The lock").
UV := $(VENV)/bin/uv
$(UV): requirements-bootstrap.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
		-r requirements-bootstrap.txt
	touch $@

# sync removes what the lock does not list, the test tools included: so the dev marker goes.
$(VENV)/.installed: requirements.txt $(UV)
	$(UV) pip sync --quiet --python $(PY) --require-hashes requirements.txt
	rm -f $(VENV)/.installed-dev
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(UV)
	$(UV) pip sync --quiet --python $(PY) --require-hashes requirements-dev.txt
	touch $(VENV)/.installed $@

# axe-core for the browser tests' accessibility scans, loaded from disk (never a CDN).
node_modules/axe-core/axe.min.js: package-lock.json
	npm ci --no-audit --no-fund
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev node_modules/axe-core/axe.min.js

## make run: install, migrate, load sample content, create a local account, serve on :8000
## with the email worker beside it
run: install
	DJANGO_DEBUG=1 $(PY) manage.py migrate --noinput
	DJANGO_DEBUG=1 $(PY) manage.py load_sample_content
	DJANGO_DEBUG=1 $(PY) manage.py load_sample_slots
	DJANGO_DEBUG=1 $(PY) manage.py createcachetable
	DJANGO_DEBUG=1 $(PY) manage.py setup_roles
	DJANGO_DEBUG=1 $(PY) manage.py create_local_staff
	@# The email worker runs beside the server and stops with it (Ctrl-C stops both).
	DJANGO_DEBUG=1 bash -c 'trap "kill 0" EXIT; $(PY) manage.py db_worker --no-reload & \
		$(PY) manage.py runserver 127.0.0.1:8000'

## make test: lint, migration check, deploy check, then the whole suite with coverage
test: install-dev lint check pytest

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/hadolint Dockerfile docker/proxy/Dockerfile

# The deploy check runs against an empty database: it checks the code and settings, not
# the data in your own database (sample articles there raise education.W001, by design).
check: install-dev
	DJANGO_DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	$(DEPLOY_ENV) DATABASE_URL=sqlite://:memory: $(PY) manage.py check --deploy --fail-level WARNING

pytest: install-dev
	$(VENV)/bin/pytest --cov --cov-report=term $(PYTEST_ARGS)

## make test-clock: the suite (browser and outside-in tests aside: their servers and browsers
## run outside the moved clock) started at awkward moments in the clinic's zone: a Friday
## night that becomes a new year's Saturday (a week's, a month's and a year's end), both
## daylight-saving changes and February 29 (see tests/conftest.py); two moments at a time,
## each with its own SQLite file and log (four moments: two rounds on two cores)
CLOCK_MOMENTS := 2027-12-31T23:50:00-05:00 2027-03-14T01:30:00-05:00 \
	2027-11-07T01:30:00-04:00 2028-02-29T12:00:00-05:00
CLOCK_JOBS ?= 2
test-clock: install-dev
	mkdir -p test-artifacts
	printf '%s\n' $(CLOCK_MOMENTS) | xargs -P $(CLOCK_JOBS) -I{} bash -c ' \
		name=$$(printf %s "{}" | tr -dc 0-9); log=test-artifacts/test-clock-$$name.log; \
		if CLINIC_TEST_NOW={} CLINIC_TEST_DB_SUFFIX=-$$name $(VENV)/bin/pytest -q \
			-m "not browser and not outside_in" $(PYTEST_ARGS) >$$log 2>&1; \
		then echo "== clock at {}: $$(tail -n 1 $$log)"; \
		else echo "== clock at {}: FAILED"; cat $$log; exit 1; fi'

## make browser: only the real-browser tests (headless Chromium, see tests/browser)
browser: install-dev
	$(VENV)/bin/pytest -m browser $(PYTEST_ARGS)

## make restore-check: restore the newest dump in BACKUP_DIR (default ./backups; or DUMP=file)
## into a new scratch database beside DATABASE_URL's and compare every table's row count
## with it; the private key in BACKUP_GPG_PRIVATE_KEY_FILE for an encrypted dump (README,
## "Backups and restore")
restore-check:
	sh docker/backup/backup.sh restore-check $(DUMP)

## make bench: serve under gunicorn as production does (127.0.0.1) and measure; see README
bench: install
	timeout 600 bash bench/run.sh

## make bench-scale: every page's bytes, queries and uncached time at the sample size and
## at 1,000 articles, 5,000 slots and 20,000 requests (see README, "Large-data mode")
bench-scale: install
	timeout 900 bash bench/scale.sh

## make lighthouse: Lighthouse mobile on every public page type under gunicorn, in Debian's
## Chromium; the table goes to test-artifacts/lighthouse/ (see README, "Benchmark")
lighthouse: install node_modules/axe-core/axe.min.js
	timeout 900 bash bench/lighthouse.sh

## make css: only the Bootstrap rules the site's templates and forms use (PurgeCSS over the
## vendored assets/bootstrap/bootstrap.min.css); the output is committed, like the lock
# The content is what can put a class on a public page: our templates, the crispy-forms
# Bootstrap 5 templates the booking form renders with, and the form code. The safelist is
# what a variable builds ("alert-{{ message.tags }}").
CRISPY_TEMPLATES = $(shell $(PY) -c 'import crispy_bootstrap5, pathlib; print(pathlib.Path(crispy_bootstrap5.__file__).parent / "templates/bootstrap5")' 2>/dev/null)
CSS_OUT := static/vendor/bootstrap/bootstrap.purged.css
css: install-dev
	npx --no-install purgecss --css assets/bootstrap/bootstrap.min.css \
		--content 'templates/**/*.html' consultations/forms.py education/rendering.py \
			$(addprefix $(CRISPY_TEMPLATES)/,field.html errors.html display_form.html \
			inputs.html $(addprefix layout/,fieldset.html radio_checkbox_select.html \
			help_text.html help_text_and_errors.html field_errors.html field_errors_block.html \
			baseinput.html attrs.html)) \
		--safelist alert-success alert-info alert-warning alert-danger alert-error \
		--variables --output $(CSS_OUT)
	@# One file, no source-map reference (the map is not shipped) and no @charset (the
	@# rules are inlined into each page's <style>, where @charset means nothing).
	sed -i -e 's|/\*# sourceMappingURL=[^*]*\*/||' -e 's|^@charset "UTF-8";||' $(CSS_OUT)
	cp assets/bootstrap/LICENSE static/vendor/bootstrap/LICENSE

## make lock: regenerate the pinned, hashed requirements from pyproject.toml (and uv's own
## pin from requirements-bootstrap.in); make test then proves they install into an empty venv
lock: $(UV)
	$(UV) pip compile requirements-bootstrap.in --python-version 3.11 --generate-hashes -q \
		-o requirements-bootstrap.txt
	$(UV) pip compile pyproject.toml --python-version 3.11 --generate-hashes -q -o requirements.txt
	$(UV) pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -q \
		-o requirements-dev.txt

## lock-check: each lock installs into an empty venv exactly as written (CI runs it)
lock-check: $(UV)
	set -e; for lock in requirements.txt requirements-dev.txt; do \
		tmp=$$(mktemp -d); $(PYTHON) -m venv --without-pip $$tmp; \
		$(UV) pip sync --quiet --python $$tmp/bin/python --require-hashes --strict $$lock; \
		echo "$$lock installs into an empty venv"; rm -rf $$tmp; done

clean:
	rm -rf $(VENV) staticfiles .coverage node_modules test-artifacts
