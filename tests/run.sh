#!/usr/bin/env bash
# The project's one test command: README.md and .ci/run both call it.
# Installs what the tests need from the project's own files (Debian packages listed in
# tests/apt-packages.txt, the package with its test extras), then runs pytest.
# Extra arguments go to pytest (e.g. `bash tests/run.sh tests/foundation -x`).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=$(grep -v '^[[:space:]]*\(#\|$\)' tests/apt-packages.txt || true)
missing=""
for package in $packages; do
    dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"
done
if [ -n "$missing" ]; then
    echo "installing Debian packages:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

python -m pip install -q --disable-pip-version-check -e '.[test,nestml,spinnaker,mpi]'
# roc-validator resolves JSON-LD contexts over HTTP; seed its cache for offline machines.
python -c "from repro.records.validation import seed_context_cache; seed_context_cache()"

set +e
# two workers (CI has two cores); modules sharing an expensive session fixture stay together
python -m pytest -n "${REPRO_TEST_WORKERS:-2}" --dist loadgroup "$@"
code=$?
set -e
if [ "$code" -eq 5 ]; then
    echo "error: pytest collected no tests" >&2
    exit 1
fi
exit "$code"
