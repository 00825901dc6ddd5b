#!/usr/bin/env bash
# Runs one control plane and one data plane in the foreground, logs on the
# console; Ctrl-C stops both. Without a config the control plane runs its
# embedded default (API :1985, fleet :1988, RTMP :1935).
# Usage: scripts/run.sh [CONFIG]   (make run CONF=srs.conf [TOKEN=fleet-token])
set -euo pipefail
cd "$(dirname "$0")/.."

conf=${1:-}
if [[ -n $conf && ! -r $conf ]]; then
	echo "run: cannot read the config $conf" >&2
	exit 1
fi
log=$(mktemp)
pids=()
stop() {
	trap - INT TERM EXIT
	kill -TERM "${pids[@]}" 2>/dev/null || true
	wait "${pids[@]}" 2>/dev/null || true
	rm -f "$log"
}
trap stop INT TERM EXIT

./bin/controlplane ${conf:+-c "$conf"} > >(tee "$log") 2>&1 &
pids+=($!)
# The worker dials the fleet endpoint the control plane reports.
fleet=
for ((i = 0; i < 100; i++)); do
	fleet=$(sed -nE 's/.*msg="fleet endpoint listening" addr=([^ ]+).*/\1/p' "$log" | head -n1)
	[[ -z $fleet ]] || break
	sleep 0.1
done
if [[ -z $fleet ]]; then
	echo "run: the control plane did not open its fleet endpoint (see its log above)" >&2
	exit 1
fi
./bin/dataplane -control-plane "$fleet" -token "${TOKEN:-}" -rtmp-listen :1935 &
pids+=($!)
# Either process ending ends the pair.
wait -n "${pids[@]}"
