#!/usr/bin/env bash
# The benchmark harness: runs every suite in scripts/bench.d/, then prints
# one table of the figures with the exact command that produced each.
# Usage: scripts/bench.sh [suite...]   (a suite is a file name without .sh)
set -euo pipefail
cd "$(dirname "$0")/.."

BENCH_RESULTS=$(mktemp)
export BENCH_RESULTS
trap 'rm -f "$BENCH_RESULTS"' EXIT

# row NAME VALUE COMMAND: one line of the final table.
row() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$BENCH_RESULTS"; }

# gobench MODULE PKG PATTERN: runs Go benchmarks and records every figure
# each one reports (ns/op, B/op, allocs/op and custom units).
gobench() {
	local module=$1 pkg=$2 pattern=$3
	local cmd="cd $module && go test -run='^\$' -bench='$pattern' -benchmem -count=1 $pkg"
	echo "== $cmd" >&2
	while read -r name _ rest; do
		row "$module ${name%-*}" "$(awk '{for (i = 1; i < NF; i += 2) printf "%s%s %s", (i > 1 ? ", " : ""), $i, $(i + 1)}' <<<"$rest")" "$cmd"
	done < <(cd "$module" && go test -run='^$' -bench="$pattern" -benchmem -count=1 "$pkg" | grep '^Benchmark')
}

suites=("$@")
if ((${#suites[@]} == 0)); then
	for f in scripts/bench.d/*.sh; do suites+=("$(basename "$f" .sh)"); done
fi
for s in "${suites[@]}"; do
	echo "== suite $s" >&2
	# shellcheck source=/dev/null
	source "scripts/bench.d/$s.sh"
done

echo
{
	printf 'benchmark\tresult\tcommand\n'
	cat "$BENCH_RESULTS"
} | column -t -s $'\t'
