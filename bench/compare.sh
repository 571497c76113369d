#!/usr/bin/env bash
# compare.sh - mpx against its references, measured in one run on loopback: the raw TCP
# floor (bench/rawtcp), mpx-manager driven by mpx-bench, redis-server driven by
# redis-benchmark, and Python's SyncManager driven by bench/python_bench.py (which also
# drives mpx-manager, as unmodified Python clients of its pickle dialect). Prints ops/s
# and the ratios mpx/raw, mpx/Redis, mpx/Python per (configuration, operation), then the
# resident memory of mpx-manager and redis-server holding 1,000,000 16-byte str entries,
# then a pool map of 100,000 trivial tasks (ints, then floats) on mpx's pool and Python's
# (bench/pool_bench).
# These machines are noisy: absolute numbers mean little, ratios within a run do.
# Every process it starts it stops by pid on exit; every run is bounded by `timeout`.
#
# Usage: bench/compare.sh BUILD_DIR        (make bench: builds, installs Redis, runs this)
# Environment: MPX_BENCH_SCALE=F multiplies every request count (default 1);
#              MPX_BENCH_REPEAT=R runs each measurement R times, keeps the best (default 2);
#              MPX_BENCH_FILL=N entries for the memory figure (default 1000000);
#              MPX_BENCH_SKIP="python redis raw mpx memory pool tls" skips those parts.
set -euo pipefail

build=${1:?usage: bench/compare.sh BUILD_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
scale=${MPX_BENCH_SCALE:-1}
fill_n=${MPX_BENCH_FILL:-1000000}
repeat=${MPX_BENCH_REPEAT:-2}
skip=" ${MPX_BENCH_SKIP:-} "
manager_bin="$build/mpx-manager"
rawtcp="$build/bench/rawtcp"
mpx_bench="$build/tools/mpx-bench"
pool_bench="$build/bench/pool_bench"
limit=300 # seconds allowed to any one benchmark run

# config name, clients, pipeline, requests (raw, mpx, Redis), requests (Python; - = none)
configs=(
    "1 client|1|1|20000|5000"
    "8 clients|8|1|100000|20000"
    "50 clients|50|1|200000|20000"
    "50 clients P16|50|16|1000000|-"
)
ops=(set get queue lock)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mpx-compare.XXXXXX")
results="$tmp/results.csv" # system,config,test,ops_per_sec,p50_ms,p99_ms,p999_ms
: >"$results"
notes=()
started=() # pids of the servers we started and have not stopped yet

say() { printf '%s\n' "$*" >&2; }

# Stops one server we started: SIGTERM, up to 5 s, then SIGKILL.
stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local left=()
    for p in "${started[@]}"; do [[ "$p" == "$pid" ]] || left+=("$p"); done
    started=("${left[@]+"${left[@]}"}")
}

cleanup() {
    local pid
    for pid in "${started[@]+"${started[@]}"}"; do stop_pid "$pid"; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

skipped() { [[ "$skip" == *" $1 "* ]]; }

scaled() {
    awk -v n="$1" -v s="$scale" -v min="$2" 'BEGIN { n = int(n * s); print (n < min ? min : n) }'
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Appends "system,config,<row>" for each data row of mpx-bench-style CSV on stdin, the
# columns found by their header names.
record_csv() {
    awk -F, -v sys="$1" -v cfg="$2" '
        NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
        NF > 1 && ("test" in col) && ("ops_per_sec" in col) {
            printf "%s,%s,%s,%s,%s,%s,%s\n", sys, cfg, $col["test"], $col["ops_per_sec"],
                $col["p50_ms"], $col["p99_ms"], $col["p999_ms"]
        }' >>"$results"
}

# Appends a pair test as one op: pairs/s = 1 / (1/a + 1/b), from the best recorded rate
# of each of two tests.
record_pair() {
    local sys=$1 cfg=$2 name=$3 a=$4 b=$5
    awk -F, -v sys="$sys" -v cfg="$cfg" -v name="$name" -v a="$a" -v b="$b" '
        $1 == sys && $2 == cfg && $3 == a && $4 > ra { ra = $4 }
        $1 == sys && $2 == cfg && $3 == b && $4 > rb { rb = $4 }
        END {
            if (ra > 0 && rb > 0)
                printf "%s,%s,%s,%.0f,,,\n", sys, cfg, name, 1 / (1 / ra + 1 / rb)
        }
    ' "$results" >>"$results.new"
    cat "$results.new" >>"$results"
    rm -f "$results.new"
}

# ---- the servers --------------------------------------------------------------------------

make_key() { (umask 077 && python3 -c 'import os; print(os.urandom(32).hex())' >"$tmp/key"); }

# Starts mpx-manager on a free loopback port; sets manager_pid and manager_addr.
start_manager() {
    local ready="$tmp/ready.$RANDOM" i
    : >"$ready"
    "$manager_bin" --listen tcp://127.0.0.1:0 --authkey-file "$tmp/key" --log-level warn \
        --ready-fd 3 3>"$ready" &
    manager_pid=$!
    started+=("$manager_pid")
    for ((i = 0; i < 100; i++)); do
        manager_addr=$(head -n 1 "$ready")
        [[ -n "$manager_addr" ]] && return 0
        kill -0 "$manager_pid" 2>/dev/null || break
        sleep 0.1
    done
    say "compare: mpx-manager did not start"
    return 1
}

# Starts redis-server on a free loopback port, persistence off; sets redis_pid, redis_port.
start_redis() {
    local attempt i dir="$tmp/redis.$RANDOM"
    mkdir -p "$dir"
    for ((attempt = 0; attempt < 3; attempt++)); do
        redis_port=$(free_port)
        redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
            --daemonize no --dir "$dir" --logfile "$dir/log" &
        redis_pid=$!
        started+=("$redis_pid")
        for ((i = 0; i < 50; i++)); do
            if redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null | grep -q PONG; then
                return 0
            fi
            kill -0 "$redis_pid" 2>/dev/null || break
            sleep 0.1
        done
        stop_pid "$redis_pid"
    done
    say "compare: redis-server did not start (see the log above)"
    return 1
}

# ---- the measurements ---------------------------------------------------------------------

# rawtcp --sizes: the framed size of each mpx call and reply, from the codec itself.
declare -A req_bytes reply_bytes
raw_sizes() {
    local call req rep
    while IFS=, read -r call req rep; do
        [[ "$call" == call ]] && continue
        req_bytes[$call]=$req
        reply_bytes[$call]=$rep
    done < <("$rawtcp" --sizes)
}

run_raw() {
    local cfg=$1 c=$2 p=$3 n=$4 call
    for call in set get put qget acquire release; do
        timeout "$limit" "$rawtcp" -c "$c" -n "$n" -P "$p" -s "${req_bytes[$call]}" \
            -r "${reply_bytes[$call]}" -t "$call" --csv | record_csv raw "$cfg" ||
            say "compare: rawtcp $call ($cfg) failed"
    done
    # the floor of a contended Lock: one token passed FIFO (one pair in flight per client)
    if ((p == 1)); then
        timeout "$limit" "$rawtcp" --lock -c "$c" -n "$n" -t lock --csv |
            record_csv rawlock "$cfg" || say "compare: rawtcp --lock ($cfg) failed"
    fi
}

run_mpx() {
    local cfg=$1 c=$2 p=$3 n=$4
    timeout "$limit" "$mpx_bench" -a "$manager_addr" -k "$tmp/key" -c "$c" -n "$n" -P "$p" \
        -t set,get,queue,lock -d 16 --csv | record_csv mpx "$cfg" ||
        say "compare: mpx-bench ($cfg) failed"
}

run_redis() {
    local cfg=$1 c=$2 p=$3 n=$4 common
    common=(-h 127.0.0.1 -p "$redis_port" -c "$c" -n "$n" -P "$p" --csv)
    {
        timeout "$limit" redis-benchmark "${common[@]}" -d 16 -r 100000 -t set,get,lpush,rpop
        timeout "$limit" redis-benchmark "${common[@]}" SET lock x NX | tail -n +2
        timeout "$limit" redis-benchmark "${common[@]}" DEL lock | tail -n +2
    } | tr -d '"' | awk -F, -v OFS=, '
        NR == 1 { print "test,clients,pipeline,requests,ops_per_sec,p50_ms,p99_ms,p999_ms"; next }
        $1 == "test" { next }
        { name = tolower($1); gsub(/ /, "_", name); print name, "", "", "", $2, $5, $7, "" }
    ' | record_csv redis "$cfg" || say "compare: redis-benchmark ($cfg) failed"
}

# The same Python clients on Python's own SyncManager ("python") and on mpx-manager's
# pickle dialect ("pympx"). create (a new manager.dict() per op: three connections in
# Python's protocol) gets 20 ops per client: Python's server takes 40 ms a connection.
run_python() {
    local cfg=$1 c=$2 n=$3 target
    for target in python pympx; do
        local connect=()
        if [[ $target == pympx ]]; then
            ((have_mpx)) && ! skipped mpx || continue
            connect=(--connect "$manager_addr" --authkey-file "$tmp/key")
        fi
        {
            timeout "$limit" python3 "$here/python_bench.py" -c "$c" -n "$n" \
                -t set,get,queue,lock --csv "${connect[@]}"
            timeout "$limit" python3 "$here/python_bench.py" -c "$c" -n $((c * 20)) \
                -t create "${connect[@]}"
        } | record_csv "$target" "$cfg" || say "compare: python_bench.py ($target, $cfg) failed"
    done
}

# ---- the run ------------------------------------------------------------------------------

for tool in python3 redis-server redis-benchmark redis-cli timeout; do
    if ! command -v "$tool" >/dev/null; then
        say "compare: $tool is missing (make bench installs it: scripts/deps.sh --bench)"
        exit 1
    fi
done
have_mpx=1
if [[ ! -x "$mpx_bench" ]]; then
    have_mpx=0
    notes+=("mpx column empty: $mpx_bench is missing (build tools/mpx-bench first)")
    say "compare: $mpx_bench is missing: the mpx column and memory figure will be empty"
elif [[ ! -x "$manager_bin" ]]; then
    have_mpx=0
    notes+=("mpx column empty: $manager_bin is missing")
    say "compare: $manager_bin is missing"
fi
[[ "$repeat" =~ ^[1-9][0-9]?$ ]] || { say "compare: MPX_BENCH_REPEAT must be 1-99"; exit 1; }
[[ -x "$rawtcp" ]] || { say "compare: $rawtcp is missing (cmake --build $build)"; exit 1; }

make_key
raw_sizes
skipped redis || start_redis
if ((have_mpx)) && ! skipped mpx; then start_manager || have_mpx=0; fi

for entry in "${configs[@]}"; do
    IFS='|' read -r cfg c p n pn <<<"$entry"
    n=$(scaled "$n" $((c * p)))
    say "compare: $cfg (pipeline $p, $n requests)"
    # the systems take turns, so that a burst of load elsewhere hits one round, not one system
    for ((round = 0; round < repeat; round++)); do
        skipped raw || run_raw "$cfg" "$c" "$p" "$n"
        if ((have_mpx)) && ! skipped mpx; then run_mpx "$cfg" "$c" "$p" "$n"; fi
        skipped redis || run_redis "$cfg" "$c" "$p" "$n"
        if [[ "$pn" != - ]] && ! skipped python; then
            run_python "$cfg" "$c" "$(scaled "$pn" "$c")"
        fi
    done
    skipped raw || { record_pair raw "$cfg" queue put qget;
                     record_pair raw "$cfg" lock acquire release; }
    skipped redis || { record_pair redis "$cfg" queue lpush rpop;
                       record_pair redis "$cfg" lock set_lock_x_nx del_lock; }
done
((have_mpx)) && ! skipped mpx && stop_pid "$manager_pid"
skipped redis || stop_pid "$redis_pid"

# Memory: fresh servers, the same N entries of 16-byte str keys and values in each.
mem_mpx0="" mem_mpx="" mem_redis0="" mem_redis="" redis_used=""
if ! skipped memory; then
    say "compare: memory, $fill_n entries"
    if ((have_mpx)); then
        start_manager
        mem_mpx0=$(rss_kb "$manager_pid")
        if timeout "$limit" "$mpx_bench" -a "$manager_addr" -k "$tmp/key" -c 50 -n "$fill_n" \
            -P 16 -t fill --csv >/dev/null; then
            mem_mpx=$(rss_kb "$manager_pid")
        else
            say "compare: mpx-bench -t fill failed"
        fi
        stop_pid "$manager_pid"
    fi
    start_redis
    mem_redis0=$(rss_kb "$redis_pid")
    if timeout "$limit" python3 "$here/redis_fill.py" "$fill_n" |
        timeout "$limit" redis-cli -h 127.0.0.1 -p "$redis_port" --pipe >/dev/null; then
        mem_redis=$(rss_kb "$redis_pid")
        redis_used=$(redis-cli -h 127.0.0.1 -p "$redis_port" info memory |
            awk -F: '/^used_memory:/ { printf "%d", $2 / 1024 }')
    else
        say "compare: loading Redis failed"
    fi
    stop_pid "$redis_pid"
fi

# The pool: one map of trivial tasks on mpx's local pool, on worker programs, on Python's.
pool_out=""
if ! skipped pool; then
    if [[ -x "$pool_bench" && -x "$manager_bin" ]]; then
        say "compare: pool map"
        for kind in "" --floats; do # ints go packed as such; floats through the codec
            pool_out+=$(timeout "$limit" "$pool_bench" "$manager_bin" --repeat $((repeat + 1)) \
                --tasks "$(scaled 100000 1000)" --python "$here/pool_bench.py" $kind) ||
                say "compare: pool_bench $kind failed"
            pool_out+=$'\n'
        done
    else
        notes+=("pool figures missing: $pool_bench or $manager_bin is missing")
    fi
fi

# ---- the report ---------------------------------------------------------------------------

out="$build/bench/compare-results.csv"
mkdir -p "$build/bench"
{ echo "system,config,test,ops_per_sec,p50_ms,p99_ms,p999_ms"; cat "$results"; } >"$out"

echo
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
redis_version=$(redis-server --version | awk '{ sub("v=", "", $3); print $3 }')
echo "mpx comparison - $(nproc) CPUs, $cpu, Linux $(uname -r), Redis $redis_version," \
    "$(python3 --version)"
echo "best ops/s of $repeat rounds; queue = put+get pairs/s, lock = acquire+release pairs/s;"
echo "Redis: SET, GET, LPUSH+RPOP, SET lock x NX + DEL lock; raw: rawtcp, mpx's frame sizes"
echo
awk -F, -v configs="$(printf '%s\n' "${configs[@]}" | cut -d'|' -f1 | paste -sd'|')" \
    -v ops="${ops[*]}" '
    $4 > v[$1, $2, $3] { v[$1, $2, $3] = $4 }
    function num(x) { return x == "" ? "-" : sprintf("%.0f", x) }
    function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "-" : sprintf("%.2f", a / b) }
    END {
        nc = split(configs, cfg, "|"); no = split(ops, op, " ")
        fmt = "%-15s %-6s %10s %10s %10s %10s %8s %9s %10s\n"
        printf fmt, "config", "op", "raw", "mpx", "Redis", "Python", "mpx/raw", "mpx/Redis",
            "mpx/Python"
        for (i = 1; i <= nc; i++) for (j = 1; j <= no; j++) {
            c = cfg[i]; o = op[j]
            r = v["raw", c, o]; m = v["mpx", c, o]; d = v["redis", c, o]; p = v["python", c, o]
            printf fmt, c, o, num(r), num(m), num(d), (c ~ /P16/ ? "n/a" : num(p)),
                ratio(m, r), ratio(m, d), (c ~ /P16/ ? "n/a" : ratio(m, p))
        }
    }' "$results"

echo
echo "the same Python clients (bench/python_bench.py: multiprocessing.managers, unchanged)"
echo "on Python's SyncManager and on mpx-manager; create = manager.dict() per op:"
awk -F, -v configs="$(printf '%s\n' "${configs[@]}" | cut -d'|' -f1 | paste -sd'|')" '
    $4 > v[$1, $2, $3] { v[$1, $2, $3] = $4 }
    END {
        nc = split(configs, cfg, "|"); no = split("set get queue lock create", op, " ")
        fmt = "  %-15s %-6s %10s %12s %8s\n"
        printf fmt, "config", "op", "Python", "mpx-manager", "ratio"
        for (i = 1; i <= nc; i++) for (j = 1; j <= no; j++) {
            p = v["python", cfg[i], op[j]]; m = v["pympx", cfg[i], op[j]]
            if (p == "" && m == "") continue
            printf fmt, cfg[i], op[j], (p == "" ? "-" : sprintf("%.0f", p)),
                (m == "" ? "-" : sprintf("%.0f", m)),
                (p == "" || m == "" ? "-" : sprintf("%.2f", m / p))
        }
    }' "$results"

echo
echo "contended Lock against its own floor (rawtcp --lock: acquire/release of mpx's sizes"
echo "around one token the server grants FIFO; one client holds it at a time, so every"
echo "handoff is a round trip, whatever the server):"
awk -F, -v configs="$(printf '%s\n' "${configs[@]}" | cut -d'|' -f1 | paste -sd'|')" '
    $4 > v[$1, $2, $3] { v[$1, $2, $3] = $4 }
    END {
        nc = split(configs, cfg, "|")
        fmt = "  %-15s %12s %10s %12s\n"
        printf fmt, "config", "lock floor", "mpx", "mpx/floor"
        for (i = 1; i <= nc; i++) {
            f = v["rawlock", cfg[i], "lock"]; m = v["mpx", cfg[i], "lock"]
            if (f == "") continue
            printf fmt, cfg[i], sprintf("%.0f", f), (m == "" ? "-" : sprintf("%.0f", m)),
                (m == "" ? "-" : sprintf("%.2f", m / f))
        }
    }' "$results"

echo
if [[ -n "$mem_redis" ]]; then
    printf 'memory, %s entries (VmRSS, KiB; empty server in brackets):\n' "$fill_n"
    printf '  mpx-manager  %10s  (%s)\n' "${mem_mpx:--}" "${mem_mpx0:--}"
    printf '  redis-server %10s  (%s)  used_memory %s KiB\n' "$mem_redis" "$mem_redis0" \
        "$redis_used"
    if [[ -n "$mem_mpx" ]]; then
        awk -v m="$mem_mpx" -v r="$mem_redis" 'BEGIN { printf "  mpx/Redis    %10.2f\n", m / r }'
    fi
fi

if [[ -n "$pool_out" ]]; then
    echo
    printf '%s' "$pool_out"
fi

echo
echo "targets:"
awk -F, -v mm="$mem_mpx" -v mr="$mem_redis" '
    $4 > v[$1, $2, $3] { v[$1, $2, $3] = $4 }
    function check(what, sys, ref, c, tests, min,    n, t, i, r, worst) {
        n = split(tests, t, " "); worst = ""
        for (i = 1; i <= n; i++) {
            if (v[sys, c, t[i]] == "" || v[ref, c, t[i]] == "") { worst = ""; break }
            r = v[sys, c, t[i]] / v[ref, c, t[i]]
            if (worst == "" || r < worst) worst = r
        }
        if (worst == "") printf "  %-48s  no data\n", what
        else printf "  %-48s  %6.2fx  %s\n", what, worst, (worst >= min ? "met" : "NOT met")
    }
    END {
        check("1 client dict set >= 0.8x raw", "mpx", "raw", "1 client", "set", 0.8)
        check("50 clients set, get >= 1.0x Redis", "mpx", "redis", "50 clients", "set get", 1)
        check("50 clients P16 set, get >= 1.0x Redis -P 16", "mpx", "redis", "50 clients P16",
              "set get", 1)
        check("1 client, all four ops >= 5x Python", "mpx", "python", "1 client",
              "set get queue lock", 5)
        check("8 clients, all four ops >= 20x Python", "mpx", "python", "8 clients",
              "set get queue lock", 20)
        check("8 clients lock >= 0.7x raw pairs", "mpx", "raw", "8 clients", "lock", 0.7)
        check("50 clients lock >= 0.7x raw pairs", "mpx", "raw", "50 clients", "lock", 0.7)
        check("8 clients lock >= 1.0x Redis", "mpx", "redis", "8 clients", "lock", 1)
        check("50 clients lock >= 1.0x Redis", "mpx", "redis", "50 clients", "lock", 1)
        check("8 clients lock >= 0.7x its floor", "mpx", "rawlock", "8 clients", "lock", 0.7)
        check("50 clients lock >= 0.7x its floor", "mpx", "rawlock", "50 clients", "lock",
              0.7)
        if (mm == "" || mr == "") printf "  %-48s  no data\n", "1M entries RSS <= Redis"
        else printf "  %-48s  %6.2fx  %s\n", "1M entries RSS <= Redis", mm / mr,
                    (mm <= mr ? "met" : "NOT met")
    }' "$results"
if [[ $skip != *" tls "* ]]; then
    echo
    "$(dirname "$0")/tls_ratio.sh" "$build" || notes+=("the tls:// ratio did not run")
fi
for note in "${notes[@]+"${notes[@]}"}"; do echo "note: $note"; done
echo "all figures: $out"
