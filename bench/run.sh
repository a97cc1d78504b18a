#!/usr/bin/env bash
# Sluice benchmark harness: one command, everything on 127.0.0.1, everything cleaned up on exit.
#
#   bench/run.sh --quick            smoke run for CI (about 90 seconds)
#   bench/run.sh                    full run (about an hour on the 2-core machine)
#   bench/run.sh --phases storm     one phase: matrix, storm, storm-split, churn, memory, multiplex, jmh (comma-separated);
#                                   cluster (a primary and two replicas) runs only when named
#   bench/run.sh --help             every option (bench/harness.py)
#
# Needs: java 17, mvn (builds launcher/target/sluice.jar if it is missing or older than the
# sources), mariadbd + mariadb-install-db + mariadb (MariaDB 10.11), sysbench, haproxy, python3.
# Results: bench/results/<UTC time>[-quick]/report.md, results.json and logs/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"

for tool in java javac python3 mariadbd mariadb-install-db mariadb sysbench haproxy; do
    command -v "$tool" >/dev/null || { echo "bench: $tool not found (apt-get install -y sysbench haproxy mariadb-server)" >&2; exit 2; }
done

quick=""
for a in "$@"; do
    [[ "$a" == "--quick" ]] && quick="-quick"
    if [[ "$a" == "-h" || "$a" == "--help" ]]; then
        exec python3 "$here/harness.py" --help
    fi
done

# SLUICE_JAR benchmarks a given jar (e.g. one built from a clean checkout of a commit; name it in
# SLUICE_LABEL); otherwise launcher/target/sluice.jar, rebuilt when main sources are newer.
if [[ -n "${SLUICE_JAR:-}" ]]; then
    jar="$SLUICE_JAR"
    label="${SLUICE_LABEL:-$jar}"
else
    jar="$root/launcher/target/sluice.jar"
    if [[ ! -f "$jar" ]] || [[ -n "$(find "$root"/*/src/main "$root"/*/pom.xml "$root/pom.xml" -newer "$jar" -type f -print -quit 2>/dev/null)" ]]; then
        echo "bench: building $jar" >&2
        (cd "$root" && mvn -B -q -o -pl launcher -am package -DskipTests)
    fi
    label="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    if [[ -n "$(git -C "$root" status --porcelain -- . ':!bench' ':!docs' 2>/dev/null)" ]]; then
        label="$label + uncommitted changes in the work tree"
    fi
fi
[[ -f "$jar" ]] || { echo "bench: no jar at $jar" >&2; exit 2; }

# 10,000 idle clients need 10k descriptors in the client and in Sluice.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (( $(ulimit -n) < 12000 )); then
    echo "bench: ulimit -n is $(ulimit -n); the 10,000-client memory step needs more than 12000" >&2
fi

work="$(mktemp -d /tmp/sluice-bench.XXXXXX)"
out="$here/results/$(date -u +%Y%m%d-%H%M%S)$quick"
mkdir -p "$out"
py_pid=""

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "$py_pid" ]] && kill -0 "$py_pid" 2>/dev/null; then
        kill -TERM "$py_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$py_pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$py_pid" 2>/dev/null || true
    fi
    # Whatever the harness started and did not stop (it records every pid it starts).
    if [[ -f "$work/pids" ]]; then
        while read -r pid; do
            kill -TERM "$pid" 2>/dev/null || true
        done < "$work/pids"
        sleep 1
        while read -r pid; do
            kill -KILL "$pid" 2>/dev/null || true
        done < "$work/pids"
    fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$work/classes"
javac -d "$work/classes" "$here/java/LoadClient.java"

python3 "$here/harness.py" --work "$work" --jar "$jar" --classes "$work/classes" --out "$out" --sluice-label "$label" "$@" &
py_pid=$!
wait "$py_pid"
py_pid=""
echo "bench: results in $out" >&2
cat "$out/report.md"
