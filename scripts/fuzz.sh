#!/usr/bin/env bash
# Runs every native fuzz target of every module for a short time.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-10s}
found=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# inputs DIR: how many inputs a corpus directory holds.
inputs() { if [[ -d $1 ]]; then find "$1" -type f | wc -l; else echo 0; fi; }
for m in proto dataplane controlplane deploy/lb; do
	while IFS= read -r line; do
		file=${line%%:*}
		target=$(sed -E 's/^.*func (Fuzz[A-Za-z0-9_]+)\(.*/\1/' <<<"$line")
		pkg=./$(dirname "${file#"$m"/}")
		echo "fuzz $m $pkg $target ($fuzztime)"
		corpus=$m/${pkg#./}/testdata/fuzz/$target
		before=$(inputs "$corpus")
		# No minimising of new interesting inputs: when the time runs out
		# during one, go test fails with "context deadline exceeded".
		status=0
		(cd "$m" && go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" -fuzzminimizetime=0 "$pkg") 2>&1 | tee "$log" || status=$?
		if ((status != 0)); then
			# Go 1.26's fuzzing coordinator can also fail that way when its
			# deadline races a worker's last run (go.dev/issue/75804, fixed
			# in Go 1.27): no input failed, none was written. Anything else,
			# or a new failing input in the corpus, fails.
			after=$(inputs "$corpus")
			if ((after != before)) || ! grep -q '^    context deadline exceeded$' "$log" || grep -q -e '^panic:' -e 'Failing input written' "$log"; then
				exit "$status"
			fi
			echo "fuzz: $target stopped by the coordinator's deadline race (go.dev/issue/75804); no failing input"
		fi
		found=$((found + 1))
	done < <(grep -rEn --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' "$m" || true)
done
echo "$found fuzz targets ran"
