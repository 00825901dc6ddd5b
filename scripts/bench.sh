#!/usr/bin/env bash
# The benchmark harness: runs every suite, then prints one table of the
# figures with the exact command that produced each.
# Usage: scripts/bench.sh [suite...]   (default: all suites)
set -euo pipefail
cd "$(dirname "$0")/.."

results=$(mktemp)
trap 'rm -f "$results"' EXIT

# row NAME VALUE COMMAND: one line of the final table.
row() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$results"; }

# gobench MODULE PKG PATTERN: runs Go benchmarks and records ns/op,
# B/op and allocs/op of each.
gobench() {
	local module=$1 pkg=$2 pattern=$3
	local cmd="cd $module && go test -run='^\$' -bench='$pattern' -benchmem -count=1 $pkg"
	echo "== $cmd" >&2
	while read -r name _ ns _ bytes _ allocs _; do
		row "$module ${name%-*}" "$ns ns/op, $bytes B/op, $allocs allocs/op" "$cmd"
	done < <(cd "$module" && go test -run='^$' -bench="$pattern" -benchmem -count=1 "$pkg" | grep '^Benchmark')
}

suite_fleet() {
	gobench controlplane ./internal/fleet/ .
}

suites=("$@")
if ((${#suites[@]} == 0)); then
	mapfile -t suites < <(declare -F | awk '{print $3}' | sed -n 's/^suite_//p')
fi
for s in "${suites[@]}"; do
	"suite_$s"
done

echo
{
	printf 'benchmark\tresult\tcommand\n'
	cat "$results"
} | column -t -s $'\t'
