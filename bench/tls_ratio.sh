#!/usr/bin/env bash
# tls_ratio.sh - tls:// against tcp:// on one manager, in the same run (issue target: 50
# clients P16 at least 0.6x tcp://).
#
# Makes a throwaway CA and certificate with the openssl CLI, starts one mpx-manager
# listening on both schemes, and runs mpx-bench's set and get at 1 and 50 clients with 16
# calls in flight, alternating tcp and tls ROUNDS times; prints each ratio of the best
# rounds. Usage: bench/tls_ratio.sh BUILD   (ROUNDS=2, REQUESTS=200000)
set -euo pipefail
build=$(cd "${1:?usage: bench/tls_ratio.sh BUILD}" && pwd)
rounds=${ROUNDS:-2}
requests=${REQUESTS:-200000}
dir=$(mktemp -d)
pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
cd "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 \
    -subj /CN=bench-ca 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout m.key -out m.csr -subj /CN=localhost 2>/dev/null
echo "subjectAltName=IP:127.0.0.1" > san.ext
openssl x509 -req -in m.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
    -extfile san.ext -out m.pem 2>/dev/null
(umask 077; openssl rand -hex 16 > key)
"$build/mpx-manager" --listen tcp://127.0.0.1:0 --listen tls://127.0.0.1:0 \
    --tls-cert m.pem --tls-key m.key --authkey-file key --log-level warn --ready-fd 3 \
    3>ready >log 2>&1 &
pid=$!
for _ in $(seq 50); do [[ $(wc -l <ready) -ge 2 ]] && break; sleep 0.1; done
tcp=$(sed -n 1p ready)
tls=$(sed -n 2p ready)
: >results
for _ in $(seq "$rounds"); do
    for clients in 1 50; do
        for addr in "$tcp" "$tls"; do
            MPX_TLS_CA=ca.pem "$build/tools/mpx-bench" -a "$addr" -k key -c "$clients" \
                -n "$requests" -P 16 -t set,get -q --csv | tail -n +2 |
                sed "s|^|${addr%%:*},|" >>results
        done
    done
done
echo "tls:// / tcp://, best of $rounds rounds, P16 (ops/s):"
awk -F, '{ k = $2 "," $3; if ($6 > best[$1, k]) best[$1, k] = $6; keys[k] = 1 }
    END { for (k in keys) { split(k, p, ","); r = best["tls", k] / best["tcp", k]
          printf "  %-4s %2s clients  tcp %9.0f  tls %9.0f  %5.2fx%s\n", p[1], p[2],
                 best["tcp", k], best["tls", k], r,
                 (p[2] == 50 ? (r >= 0.6 ? "  met (>= 0.6x)" : "  NOT met (>= 0.6x)") : "") } }' \
    results | sort
