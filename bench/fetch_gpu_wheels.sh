#!/usr/bin/env bash
# bench/fetch_gpu_wheels.sh -- put the wheels bench/gpu_check.sh needs on the device machine
# (which has no package registry) into bench/wheels/ (git-ignored), here, where pip works.
#
# Only the peer pysdtw 0.0.5 is missing there (a 7 kB pure-Python wheel; its dependencies torch
# and numba are installed on the device machine).  Carry the folder with the call:
# carry: ["bench/wheels"] (see bench/README.md, "GPU").
set -eu
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}
"$py" -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux2014_x86_64 -d bench/wheels pysdtw==0.0.5
ls -l bench/wheels
