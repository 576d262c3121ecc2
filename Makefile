# Developer targets; `make help` lists them.
PY ?= python

.PHONY: help dev test test-fast asan format lint bench ci clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

# editable_mode=compat: the install puts the clone on sys.path (a .pth line)
# rather than a meta-path finder. A finder runs only after Python's path scan,
# which takes the clone's own folder (when it is named tinynn) as a namespace
# package whenever Python starts in the clone's parent folder; on sys.path the
# real package is found by the scan itself and wins.
dev:  ## editable install with the test extra, extension built in place
	$(PY) -m pip install "setuptools>=77" && \
	  $(PY) -m pip install -e ".[test]" --config-settings editable_mode=compat && \
	  $(PY) setup.py -q build_ext --inplace

test:  ## the whole suite, notebooks and full-MNIST runs included
	$(PY) -m pytest -q

test-fast:  ## everything but the slow tests
	$(PY) -m pytest -q -m "not slow"

asan:  ## the C core under ASan + UBSan, then under ThreadSanitizer
	bash .ci/sanitize.sh address && bash .ci/sanitize.sh thread

format:  ## clang-format the C core, ruff format the Python
	clang-format -i csrc/*.c csrc/*.h tests/c/*.c  # not the templated .inc bodies
	ruff format .

lint:  ## ruff, and the C core with warnings as errors
	bash .ci/lint.sh
	for f in csrc/*.c; do gcc -std=gnu11 -pthread -Wall -Wextra -Wshadow \
	  -Wstrict-prototypes -Werror -fsyntax-only -Icsrc \
	  -I$$($(PY) -c 'import numpy; print(numpy.get_include())') \
	  -I$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["include"])') $$f; done

bench:  ## benchmarks/bench_train.py, writes benchmarks/RESULTS.md
	$(PY) benchmarks/bench_train.py

ci:  ## what CI runs
	bash .ci/run

clean:  ## build products
	rm -rf build dist *.egg-info tinynn/_core*.so .ci-venv history.png
