# shellcheck shell=bash
# Fleet: the registry's ingest and view costs (Go benchmarks), then the
# issue "One view of the fleet"'s figures against the real binaries (bin/,
# built by make bench) on loopback ports they pick themselves, driven by
# dataplane/cmd/fleetbench: freshness of the client list, kick latency and
# robustness (idle and with players streaming), and one control plane's
# cost for 50 fake workers of 2,000 clients each. Sourced by
# scripts/bench.sh, which provides row and gobench. FLEET_QUICK=1 runs
# every step smaller, to check the suite.
gobench controlplane ./internal/fleet/ .

# The binaries run in a subshell with its own traps, so every process
# started here is stopped whatever happens, and the harness's EXIT trap
# stays in place.
fleet_suite() (
	set -euo pipefail
	# Not local: the EXIT trap runs after the function has returned.
	dir=$(mktemp -d)
	pids=()
	# shellcheck disable=SC2317 # run by the trap
	cleanup() {
		if ((${#pids[@]} > 0)); then
			kill "${pids[@]}" 2>/dev/null || true
			# A process that ignores SIGTERM for 10 s gets SIGKILL.
			local i
			for ((i = 0; i < 100; i++)); do
				running "${pids[@]}" || break
				sleep 0.1
			done
			kill -9 "${pids[@]}" 2>/dev/null || true
			wait "${pids[@]}" 2>/dev/null || true
		fi
		rm -rf "$dir"
	}
	# running PID...: whether any is still running (a zombie is not).
	running() {
		local p
		for p in "$@"; do
			if [[ -r /proc/$p/stat && $(cut -d' ' -f3 "/proc/$p/stat") != Z ]]; then return 0; fi
		done
		return 1
	}
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	local quick=${FLEET_QUICK:-}

	local fb=$dir/fleetbench
	go build -o "$fb" ./dataplane/cmd/fleetbench

	# start_cp NAME: a control plane on loopback ports; sets cp_pid,
	# cp_api and cp_fleet.
	start_cp() {
		cat >"$dir/$1.conf" <<-CONF
			listen 127.0.0.1:0;
			daemon off;
			srs_log_tank console;
			server_id vid-fleetbench;
			pid $dir/$1.pid;
			http_api { enabled on; listen 127.0.0.1:0; }
			fleet { listen 127.0.0.1:0; token fleetbench; }
			vhost __defaultVhost__ { }
		CONF
		bin/controlplane -c "$dir/$1.conf" >"$dir/$1.log" 2>&1 &
		cp_pid=$!
		pids+=("$cp_pid")
		cp_fleet=$(await_log "$dir/$1.log" 'msg="fleet endpoint listening" addr=([^ ]+)')
		cp_api=$(await_log "$dir/$1.log" 'msg="http api listening" addr=([^ ]+)')
	}

	# measure LABEL STEP ARGS...: runs fleetbench STEP ARGS and records
	# each figure it prints, then whether its checks passed. The recorded
	# command shows addresses and pids as placeholders: they change with
	# every run.
	measure() {
		local label=$1 step=$2 status=0 name value cmd
		shift 2
		cmd="fleetbench $step $*"
		cmd=${cmd//$cp_api/<api>}
		cmd=${cmd//$cp_fleet/<fleet>}
		cmd=$(sed -E 's/-rtmp [^ ]+/-rtmp <rtmp>/; s/-pids [0-9,]+/-pids <pids>/; s/-cp-pid [0-9]+/-cp-pid <pid>/' <<<"$cmd")
		echo "== $cmd" >&2
		"$fb" "$step" "$@" >"$dir/out" || status=$?
		while IFS=$'\t' read -r name value; do
			row "fleet $name" "$value" "$cmd"
		done <"$dir/out"
		if ((status == 0)); then
			row "fleet $step $label checks" "passed" "$cmd"
		else
			row "fleet $step $label checks" "FAILED (exit $status, see the log above)" "$cmd"
			tail -n 20 "$dir"/*.log >&2
		fi
	}

	# stop NAME:LOG:PID...: SIGTERM to all at once, then records how long
	# each took to exit. One still running after 10 s (a worker with a
	# connection that never wound down after a kick, say) dumps its
	# goroutines into a copy of its log that is kept, and is killed.
	stop() {
		local p name log pid start kept
		start=$(date +%s%N)
		for p in "$@"; do kill "${p##*:}" 2>/dev/null || true; done
		for p in "$@"; do
			IFS=: read -r name log pid <<<"$p"
			while running "$pid" && (($(date +%s%N) - start < 10000000000)); do sleep 0.05; done
			if running "$pid"; then
				kill -QUIT "$pid" 2>/dev/null || true
				sleep 1
				kept=$(mktemp /tmp/fleetbench-stop-XXXXXX.log)
				cp "$log" "$kept"
				kill -9 "$pid" 2>/dev/null || true
				row "fleet $name stops on SIGTERM" "FAILED: still running after 10 s; goroutines in $kept" "kill -TERM <pid>"
			else
				row "fleet $name stops on SIGTERM" "within $((($(date +%s%N) - start) / 1000000)) ms" "kill -TERM <pid>"
			fi
		done
	}

	local n=400 kicks=1000 players=200 workers=50 per_worker=2000 requests=5000 warmup=10s ingest=10s
	if [[ -n $quick ]]; then
		n=40 kicks=40 players=20 workers=5 per_worker=200 requests=200 warmup=2s ingest=3s
	fi

	# One control plane and one worker: freshness and kicks.
	start_cp cp
	local cp1=$cp_pid
	bin/dataplane -node-id fleetbench-1 -control-plane "$cp_fleet" -token fleetbench \
		-rtmp-listen 127.0.0.1:0 >"$dir/dp.log" 2>&1 &
	local dp=$!
	pids+=("$dp")
	local rtmp
	rtmp=$(await_log "$dir/dp.log" 'msg=listening component=rtmp addr=([^ ]+)')
	await_log "$dir/dp.log" 'msg="(control-plane session open)"' >/dev/null
	local addrs=(-api "$cp_api" -rtmp "$rtmp")

	measure idle freshness "${addrs[@]}" -n "$n"
	measure idle kick "${addrs[@]}" -players 4 -kicks "$kicks" -label idle -pids "$cp1,$dp"
	measure load kick "${addrs[@]}" -players "$players" -kbps 2500 -kicks "$kicks" -label load -pids "$cp1,$dp"
	stop "worker, after the kicks,:$dir/dp.log:$dp" "control plane, after the kicks,:$dir/cp.log:$cp1"

	# A control plane of its own for the fake fleet, so its figures are
	# the fleet's alone.
	start_cp scale
	measure fleet scale -api "$cp_api" -fleet "$cp_fleet" -token fleetbench -cp-pid "$cp_pid" \
		-fake-workers "$workers" -clients-per-worker "$per_worker" -warmup "$warmup" -ingest "$ingest" \
		-page "/api/v1/clients/?start=$((workers * per_worker * 9 / 10))&count=100" -page-requests "$requests"

	stop "scale control plane:$dir/scale.log:$cp_pid"
)
fleet_suite
