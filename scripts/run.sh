#!/usr/bin/env bash
# Runs one control plane (embedded default config: API :1985, fleet :1988)
# and one data plane (RTMP :1935) in the foreground, logs on the console.
# Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

pids=()
stop() {
	trap - INT TERM EXIT
	kill -TERM "${pids[@]}" 2>/dev/null || true
	wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT

./bin/controlplane &
pids+=($!)
./bin/dataplane -control-plane 127.0.0.1:1988 -rtmp-listen :1935 &
pids+=($!)
# Either process ending ends the pair.
wait -n "${pids[@]}"
