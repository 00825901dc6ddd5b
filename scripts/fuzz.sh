#!/usr/bin/env bash
# Runs every native fuzz target of every module for a short time.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-10s}
found=0
for m in proto dataplane controlplane deploy/lb; do
	while IFS= read -r line; do
		file=${line%%:*}
		target=$(sed -E 's/^.*func (Fuzz[A-Za-z0-9_]+)\(.*/\1/' <<<"$line")
		pkg=./$(dirname "${file#"$m"/}")
		echo "fuzz $m $pkg $target ($fuzztime)"
		# No minimising of new interesting inputs: when the time runs out
		# during one, go test fails with "context deadline exceeded".
		(cd "$m" && go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" -fuzzminimizetime=0 "$pkg")
		found=$((found + 1))
	done < <(grep -rEn --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' "$m" || true)
done
echo "$found fuzz targets ran"
