#!/usr/bin/env bash
# compare.sh - the benchmarks, each printing ratios against a reference measured in the
# same run (these machines are noisy: absolute numbers mean little, ratios do).
# Usage: bench/compare.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
"$build/bench/pingpong" "$build/mpx-manager" "${MPX_BENCH_REQUESTS:-50000}"
