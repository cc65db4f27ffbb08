# spectral_qc — the two commands of the README, plus a few conveniences.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test validate validate-fast bench notebooks clean

$(STAMP): pyproject.toml scripts/ensure_fftw.sh
	@scripts/ensure_fftw.sh
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,sweep,exact]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/spectral-qc demo --out out/demo

test: $(STAMP)
	@OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

validate: $(STAMP)
	$(BIN)/python -m validation

validate-fast: $(STAMP)
	$(BIN)/python -m validation --fast

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# the notebook extra (Jupyter, nbconvert), then every notebook executed top to bottom
# (full sizes); executed copies go to out/notebooks/, notebooks/ stays without outputs
notebooks: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[notebooks]'
	@mkdir -p out/notebooks
	$(BIN)/jupyter nbconvert --to notebook --execute --output-dir out/notebooks notebooks/[0-9][0-9]_*.ipynb

clean:
	rm -rf $(VENV) out build *.egg-info
