# tradesite — `make demo` serves the site on the embedded default; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: demo test check format install install-dev serve prod-smoke clean messages

$(VENV)/.installed: requirements.txt
	@echo "== [1/7] Python packages into $(VENV) (pip prints each download; a cold cache takes minutes)"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --progress-bar on -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	@echo "== [2/7] the chart library from npm (package-lock.json)"
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed
install-dev: $(VENV)/.installed-dev

demo: install
	@echo "== [3/7] database tables (SQLite at var/, or DATABASE_URL)"
	$(PY) manage.py migrate --noinput
	@echo "== [4/7] static files"
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py setup_periodic_tasks
	@echo "== [5/7] real recorded market data, the demo's model and its predictions"
	$(PY) manage.py load_demo_data
	@echo "== [6/7] a demo user and an admin"
	$(PY) manage.py create_demo_users
	@echo "== [7/7] serving on http://127.0.0.1:$(PORT)/ (Ctrl-C stops)"
	$(PY) manage.py serve --port $(PORT)

serve: install
	$(PY) manage.py serve --port $(PORT)

# the production topology (uvicorn workers, Celery worker and beat, the replay feed) on PostgreSQL
# and Redis, proved as one system; needs both running (see README "Running for real")
prod-smoke: install
	$(PY) bin/prod_smoke.py

# tests/browser runs when /usr/bin/chromium and /usr/bin/chromedriver are installed (it needs the chart
# library from npm); otherwise pytest skips it and says why
test: install-dev
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory node_modules/.installed; fi
	$(PY) -m pytest

# lint, format, types, import layers, migrations, schema (each step stops the run when it fails)
check: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy core trading bots markets tradesite
	$(VENV)/bin/lint-imports
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) node_modules var

# translations (needs GNU gettext: apt-get install gettext): collect the msgids of templates and code
# into locale/ko/LC_MESSAGES/django.po, then compile the .mo files, which are committed so that
# `make demo` and CI need no gettext (tests/test_i18n.py fails when a .mo lags its .po)
messages: install
	$(PY) manage.py makemessages --locale ko --no-obsolete --ignore '.venv/*' --ignore 'node_modules/*' --ignore 'var/*' --ignore 'bench/*' --ignore 'tests/*'
	$(PY) manage.py compilemessages --locale ko --ignore '.venv/*' --ignore 'node_modules/*'
