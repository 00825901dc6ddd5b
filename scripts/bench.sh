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

# flv VIDEO_KBPS AUDIO_KBPS: prints the path of a 20 s 640x360 30 fps
# H.264 (CBR, 2 s GOP) + AAC file, encoded once into the cache, which
# publishers replay without encoding.
flv() {
	local cache=${XDG_CACHE_HOME:-$HOME/.cache}/tidecast-bench
	local f=$cache/rtmp-$1k-$2k.flv
	mkdir -p "$cache"
	if [[ ! -s $f ]]; then
		echo "== encoding $f" >&2
		ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc=size=640x360:rate=30 -f lavfi -i sine -t 20 \
			-c:v libx264 -preset veryfast -tune zerolatency -g 60 -pix_fmt yuv420p \
			-b:v "$1k" -minrate "$1k" -maxrate "$1k" -bufsize "$1k" -x264-params nal-hrd=cbr \
			-c:a aac -b:a "$2k" -f flv "$f.tmp"
		mv "$f.tmp" "$f"
	fi
	echo "$f"
}

# await_log FILE REGEX: prints the first group of the first matching line
# of a process's log, waiting up to 10 s for it.
await_log() {
	local i v
	for ((i = 0; i < 200; i++)); do
		v=$(sed -nE "s/.*$2.*/\1/p" "$1" | head -n1)
		if [[ -n $v ]]; then
			echo "$v"
			return
		fi
		sleep 0.05
	done
	echo "no line matching $2 in $1:" >&2
	cat "$1" >&2
	return 1
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
