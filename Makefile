PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)

.PHONY: demo test test-min bench clean venv

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml constraints.txt
	$(PIP) install -q -c constraints.txt -e ".[all,test]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/anydiff demo

test: $(STAMP)
	$(PY) -m pytest -q -n 2

bench: $(STAMP)
	$(PIP) install -q -c constraints.txt -e ".[all,test,bench]"
	$(PY) -m benchmarks.overhead

# The same suite on the lowest versions pyproject.toml allows (constraints-min.txt), in its own venv
VENV_MIN := .venv-min
PY_MIN := $(VENV_MIN)/bin/python
STAMP_MIN := $(VENV_MIN)/.installed-$(shell cat pyproject.toml constraints-min.txt | cksum | cut -d' ' -f1)

$(PY_MIN):
	$(PYTHON) -m venv $(VENV_MIN)

$(STAMP_MIN): $(PY_MIN) pyproject.toml constraints-min.txt
	$(PY_MIN) -m pip --disable-pip-version-check install -q -c constraints-min.txt -e ".[all,test]"
	rm -f $(VENV_MIN)/.installed-*
	touch $(STAMP_MIN)

test-min: $(STAMP_MIN)
	$(PY_MIN) -m pytest -q -n 2

clean:
	rm -rf $(VENV) $(VENV_MIN)
