# mmpose_ext — the two quick-start commands are `make demo` and `make test`.
PY := .venv/bin/python
DATA := data/synthetic_coco
DEMO_CONFIG ?= configs/synthetic/mca_hourglass_amp-lightaug_synthetic-coco-128x96.py
DEMO_WORK_DIR ?= work_dirs/demo

.PHONY: install wheelhouse data demo claims lint test test-fast test-gpu clean

# INSTALL_ARGS: e.g. --offline DIR, --cuda-ops, --plan (docs/installation.md)
install:
	bash tools/install.sh $(INSTALL_ARGS)

# Everything `tools/install.sh --offline DIR` needs, for another machine's Python,
# platform, PyTorch and numpy (defaults: the GPU target of docs/installation.md).
WHEELHOUSE_PYTHON ?= 3.12
WHEELHOUSE_PLATFORM ?= manylinux_2_28_x86_64
WHEELHOUSE_TORCH ?= 2.11
WHEELHOUSE_NUMPY ?= 2
WHEELHOUSE ?= wheelhouse/py$(WHEELHOUSE_PYTHON)-torch$(WHEELHOUSE_TORCH)
wheelhouse: install
	rm -rf $(WHEELHOUSE)
	$(PY) tools/wheelhouse.py -o $(WHEELHOUSE) --python-version $(WHEELHOUSE_PYTHON) \
		--platform $(WHEELHOUSE_PLATFORM) --torch $(WHEELHOUSE_TORCH) \
		--numpy $(WHEELHOUSE_NUMPY) $(WHEELHOUSE_ARGS)

$(DATA)/annotations/person_keypoints_val.json:
	$(PY) tools/make_synthetic_coco.py --out $(DATA)

data: install $(DATA)/annotations/person_keypoints_val.json

demo: data
	CONFIG=$(DEMO_CONFIG) WORK_DIR=$(DEMO_WORK_DIR) PY=$(PY) bash tools/quickstart.sh

# one row of the claims table (docs/claims.md): every arm x 8 seeds, resumable;
# ROW is one of mca_attention hru cpn mspn soft_gated hrnet (about 2-3 h each
# on 2 CPU cores)
claims: data
	$(PY) tools/analysis/claims.py $(ROW) $(CLAIMS_ARGS)

lint: install
	$(PY) -m ruff check mmpose_ext tools tests configs setup.py

# the whole suite on both cores (pytest-xdist); test-fast leaves out the tests
# marked slow (subprocess trainings, compiles, two-process runs)
PYTEST_WORKERS ?= 2
test: lint
	$(PY) -m pytest tests -n $(PYTEST_WORKERS)

test-fast: lint
	$(PY) -m pytest tests -m "not slow" -n $(PYTEST_WORKERS)

# the CUDA tier (tests/test_cuda, docs/gpu.md); every test skips without CUDA
test-gpu: install
	$(PY) -m pytest tests -m cuda

clean:
	rm -rf work_dirs .pytest_cache .ruff_cache
