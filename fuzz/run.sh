#!/usr/bin/env bash
# run.sh - runs each libFuzzer target of a MPX_FUZZ build for a bounded time (`make fuzz`).
#
# One target at a time, one process each, on a scratch copy of its corpus, so that new
# inputs never dirty the tree; with FUZZ_MERGE=1 the inputs that add coverage are merged
# into fuzz/corpus/<target> afterwards (libFuzzer's -merge=1). Crashes are kept under
# BUILD/fuzz-artifacts/<target>/. Exits non-zero when any target crashed.
# Usage: fuzz/run.sh BUILD [TARGET...]   (FUZZ_SECONDS, default 60; FUZZ_MERGE=1)
set -euo pipefail

build=${1:?usage: fuzz/run.sh BUILD [TARGET...]}
shift
here=$(cd "$(dirname "$0")" && pwd)
seconds=${FUZZ_SECONDS:-60}
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    targets=(fuzz_request fuzz_reply fuzz_frame fuzz_handshake fuzz_pickle fuzz_invoke
             fuzz_codec_diff)
fi

# The largest input worth trying: room for a few requests or frames, and short enough
# that one run stays fast. The handshake reads at most three frames of AUTH_MAX_FRAME.
max_len() {
    case $1 in
        fuzz_handshake) echo 1024 ;;
        fuzz_frame) echo 2048 ;;
        *) echo 4096 ;;
    esac
}

failed=()
for t in "${targets[@]}"; do
    bin=$build/fuzz/$t
    scratch=$(mktemp -d)
    artifacts=$build/fuzz-artifacts/$t
    mkdir -p "$artifacts"
    cp -R "$here/corpus/$t/." "$scratch/"
    dict=()
    [[ -f $here/$t.dict ]] && dict=(-dict="$here/$t.dict")
    echo "== $t: ${seconds}s" >&2
    log=$build/fuzz-artifacts/$t.log
    if "$bin" "$scratch" "${dict[@]}" -max_total_time="$seconds" -max_len="$(max_len "$t")" \
           -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
           -artifact_prefix="$artifacts/" >"$log" 2>&1; then
        grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 >&2 || true
    else
        failed+=("$t")
        tail -40 "$log" >&2
    fi
    grep -E '^stat::number_of_executed_units' "$log" >&2 || true
    if [[ ${FUZZ_MERGE:-0} == 1 ]]; then
        "$bin" -merge=1 -max_len="$(max_len "$t")" "$here/corpus/$t" "$scratch" \
            >>"$log" 2>&1
    fi
    rm -rf "$scratch"
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "crashed: ${failed[*]} (inputs in $build/fuzz-artifacts/)" >&2
    exit 1
fi
