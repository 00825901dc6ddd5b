# RTMP fan-out: the hub's fan-out (Go benchmarks), then the issue "RTMP
# fan-out benchmark"'s figures against the real binaries (bin/, built by
# make bench) on loopback ports they pick themselves: one control plane,
# one data plane, a publisher replaying a pre-encoded FLV in real time
# (rtmpload -publish: nothing is encoded at bench time) and rtmpload's
# players in a process of their own. rtmpload also reads the data plane's
# /proc figures and the API over the measured window (10 s of warm-up, then
# 30 s). Configurations: merged writes (mw_latency 350, SRS's default) and
# realtime with 200 players at 2.6 Mbit/s, merged writes with 1,000 at
# 0.5 Mbit/s. The 200-player ones also run against rtmpload's reference
# server (the least a server can do: one writev per message or batch,
# nothing else), so that each CPU figure has a reference measured in the
# same round. Each runs RTMP_RUNS times (3), interleaved, each time on fresh
# processes; the table shows medians. Sourced by scripts/bench.sh, which
# provides row and gobench. RTMP_QUICK=1 runs one short, small round, to
# check the suite; RTMP_CONFIGS picks configurations (default "merged
# realtime big").
gobench dataplane ./internal/hub/ FanOut

rtmp_suite() (
	set -euo pipefail
	local dir pids=() quick=${RTMP_QUICK:-} runs=${RTMP_RUNS:-3}
	dir=$(mktemp -d)
	cleanup() {
		local p
		for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
		wait 2>/dev/null || true
		rm -rf "$dir"
	}
	trap cleanup EXIT
	trap 'exit 130' INT TERM

	local load=$dir/rtmpload
	go build -o "$load" ./dataplane/cmd/rtmpload

	# await_stream API: waits up to 10 s for /live/bench to be published
	# with its video known (so its GOP cache has started).
	await_stream() {
		local i
		for ((i = 0; i < 200; i++)); do
			if curl -fsS "http://$1/api/v1/streams/" 2>/dev/null |
				jq -e '.streams[] | select(.url == "/live/bench" and .publish.active and .video != null)' >/dev/null; then
				return
			fi
			sleep 0.05
		done
		echo "the stream was not published within 10 s" >&2
		return 1
	}

	local warmup=10s duration=40s
	if [[ -n $quick ]]; then runs=1 warmup=3s duration=8s; fi
	# The recorded commands show the addresses as placeholders: they change
	# with every run.
	local shown="rtmpload -url rtmp://<rtmp>/live/bench -players %s -warmup $warmup -duration $duration -watch-pid <dataplane> -api http://<api>"
	local shown_ref="rtmpload -reference 127.0.0.1:0 -publish <flv> -mw %s; rtmpload -url rtmp://<reference>/live/bench -players %s -warmup $warmup -duration $duration -watch-pid <reference>"
	local shown_flv="rtmpload -url rtmp://<rtmp>/live/bench -players %s -flv-url http://<http>/live/bench.flv -flv-players %s -warmup $warmup -duration $duration -watch-pid <dataplane> -api http://<api>"

	# players OUT ARGS...: runs rtmpload's players; the report goes to OUT,
	# its exit status to OUT.status.
	players() {
		local out=$1 status=0
		shift
		"$load" -warmup "$warmup" -duration "$duration" "$@" >"$out" || status=$?
		echo "$status" >"$out.status"
	}

	# one_run VHOST_BODY PLAYERS FLV OUT [FLV_PLAYERS]: a fresh control
	# plane, data plane and publisher, then the players: PLAYERS over RTMP
	# and FLV_PLAYERS over HTTP-FLV.
	one_run() {
		local vhost=$1 n=$2 file=$3 out=$4 nflv=${5:-0} cp dp pub api fleet rtmp http
		cat >"$dir/cp.conf" <<-CONF
			listen 127.0.0.1:0;
			max_connections 3000;
			daemon off;
			srs_log_tank console;
			pid $dir/cp.pid;
			http_api { enabled on; listen 127.0.0.1:0; }
			http_server { enabled on; listen 127.0.0.1:0; }
			fleet { listen 127.0.0.1:0; token rtmpbench; }
			vhost __defaultVhost__ { $vhost http_remux { enabled on; } }
		CONF
		# Empty the logs first: await_log may read a log before the new
		# process's redirection truncates it, finding the previous run's
		# addresses.
		: >"$dir/cp.log"
		: >"$dir/dp.log"
		: >"$dir/pub.log"
		bin/controlplane -c "$dir/cp.conf" >"$dir/cp.log" 2>&1 &
		cp=$!
		pids+=("$cp")
		fleet=$(await_log "$dir/cp.log" 'msg="fleet endpoint listening" addr=([^ ]+)')
		api=$(await_log "$dir/cp.log" 'msg="http api listening" addr=([^ ]+)')
		bin/dataplane -node-id rtmpbench -control-plane "$fleet" -token rtmpbench \
			-rtmp-listen 127.0.0.1:0 >"$dir/dp.log" 2>&1 &
		dp=$!
		pids+=("$dp")
		rtmp=$(await_log "$dir/dp.log" 'msg=listening component=rtmp addr=([^ ]+)')
		await_log "$dir/dp.log" 'msg="(applied control-plane config)"' >/dev/null
		http=$(await_log "$dir/dp.log" 'msg=listening component=httpflv addr=([^ ]+)')
		"$load" -publish "$file" -url "rtmp://$rtmp/live/bench" -duration 600s >/dev/null 2>"$dir/pub.log" &
		pub=$!
		pids+=("$pub")
		if ! await_stream "$api"; then
			tail -n 20 "$dir/dp.log" "$dir/pub.log" "$dir/cp.log" >&2
			return 1
		fi
		if ((nflv > 0)); then
			echo "== $(printf "$shown_flv" "$n" "$nflv") # vhost __defaultVhost__ { $vhost }" >&2
		else
			echo "== $(printf "$shown" "$n") # vhost __defaultVhost__ { $vhost }" >&2
		fi
		players "$out" -url "rtmp://$rtmp/live/bench" -players "$n" -flv-url "http://$http/live/bench.flv" -flv-players "$nflv" \
			-watch-pid "$dp" -api "http://$api"
		kill "$pub" "$dp" "$cp" 2>/dev/null || true
		wait "$pub" "$dp" "$cp" 2>/dev/null || true
		pids=()
	}

	# reference_run MW PLAYERS FLV OUT: the reference server, then the
	# players. MW 0 pairs messages as the data plane's realtime does (when
	# a later one comes within realtime_soon), -1ms writes each at once.
	reference_run() {
		local mw=$1 n=$2 file=$3 out=$4 ref addr
		: >"$dir/ref.log"
		"$load" -reference 127.0.0.1:0 -publish "$file" -mw "$mw" -soon "$realtime_soon" -duration 600s 2>"$dir/ref.log" &
		ref=$!
		pids+=("$ref")
		addr=$(await_log "$dir/ref.log" 'reference listening addr=([^ ]+)')
		echo "== $(printf "$shown_ref" "$mw" "$n")" >&2
		players "$out" -url "rtmp://$addr/live/bench" -players "$n" -watch-pid "$ref"
		kill "$ref" 2>/dev/null || true
		wait "$ref" 2>/dev/null || true
		pids=()
	}

	local merged='play { mw_latency 350; gop_cache on; }'
	local realtime='min_latency on; play { mw_latency 0; gop_cache on; }'
	# The data plane's realtime window (hub.realtimeSoon), for the pairing
	# reference to write as often.
	local realtime_soon=12ms
	local hi lo big=1000
	hi=$(flv 2500 128)
	lo=$(flv 450 48)
	if [[ -n $quick ]]; then big=100; fi
	local r configs=" ${RTMP_CONFIGS:-merged realtime mixed big} "
	for ((r = 1; r <= runs; r++)); do
		if [[ $configs == *" merged "* ]]; then
			one_run "$merged" 200 "$hi" "$dir/merged.$r.json"
			reference_run 350ms 200 "$hi" "$dir/merged-ref.$r.json"
		fi
		if [[ $configs == *" realtime "* ]]; then
			one_run "$realtime" 200 "$hi" "$dir/realtime.$r.json"
			reference_run 0 200 "$hi" "$dir/realtime-ref.$r.json"
			reference_run -1ms 200 "$hi" "$dir/realtime-msg.$r.json"
		fi
		if [[ $configs == *" mixed "* ]]; then
			one_run "$merged" 100 "$hi" "$dir/mixed.$r.json" 100
			one_run "$merged" 0 "$hi" "$dir/flv.$r.json" 200
			[[ $configs == *" merged "* ]] || one_run "$merged" 200 "$hi" "$dir/merged.$r.json"
		fi
		if [[ $configs == *" big "* ]]; then
			one_run "$merged" "$big" "$lo" "$dir/big.$r.json"
		fi
	done

	# median: the median of the numbers on stdin.
	median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
	# each JQ_EXPR NAME: the figure of every run of NAME, one per line.
	each() { local f; for f in "$dir/$2".*.json; do jq -r "$1" "$f"; done; }
	# med JQ_EXPR NAME and all JQ_EXPR NAME: the median, and every run.
	med() { each "$1" "$2" | median; }
	all() { each "$1" "$2" | paste -sd' '; }
	# ratio NAME [OF]: the median over runs of NAME's CPU per Mbit/s over
	# OF's (default NAME-ref, its reference) in the same round.
	ratio() {
		local i of=${2:-$1-ref}
		for ((i = 1; i <= runs; i++)); do
			jq -rn --slurpfile a "$dir/$1.$i.json" --slurpfile b "$dir/$of.$i.json" \
				'$a[0].server.cpu_percent_per_mbps / $b[0].server.cpu_percent_per_mbps'
		done | median | xargs printf '%.2f'
	}

	# report NAME LABEL PLAYERS VHOST_BODY CPU_TARGET [MW]: the rows of a
	# configuration; with MW, also the reference's figure and our ratio.
	report() {
		local name=$1 label=$2 n=$3 vhost=$4 target=${5:+; target <= $5} mw=${6:-} cmd failed ref="" ref_delay=""
		cmd="scripts/bench.sh rtmp: $(printf "$shown" "$n"); vhost __defaultVhost__ { $vhost }"
		if [[ -n $mw ]]; then
			ref="; reference server $(med .server.cpu_percent_per_mbps "$name-ref"), ours/reference x$(ratio "$name")"
			ref_delay="; reference server p50 $(med .delay_ms.p50 "$name-ref") ms, p99 $(med .delay_ms.p99 "$name-ref") ms"
			cmd+="; reference: $(printf "$shown_ref" "$mw" "$n")"
		fi
		row "rtmp $label CPU per Mbit/s" \
			"$(med .server.cpu_percent_per_mbps "$name") % of a core (runs: $(all .server.cpu_percent_per_mbps "$name"); $(med .server.cpu_percent "$name") % at $(med .window.mbps "$name") Mbit/s$ref$target)" "$cmd"
		row "rtmp $label RSS per player" \
			"$(med .server.rss_kb_per_player "$name") KiB (runs: $(all .server.rss_kb_per_player "$name"); target <= 40)" "$cmd"
		row "rtmp $label goroutines per player" \
			"$(med .server.goroutines_per_player "$name") (runs: $(all .server.goroutines_per_player "$name"))" "$cmd"
		row "rtmp $label frames dropped" \
			"$(all .window.dropped_frames "$name") (per run; players connected: $(all '"\(.connected)/\(.players)"' "$name"), disconnected: $(all .disconnected "$name"))" "$cmd"
		row "rtmp $label delivery delay" \
			"p50 $(med .delay_ms.p50 "$name") ms, p99 $(med .delay_ms.p99 "$name") ms, max $(med .delay_ms.max "$name") ms (beyond each player's best message; runs' p99: $(all .delay_ms.p99 "$name")$ref_delay)" "$cmd"
		row "rtmp $label API send_30s error" \
			"stream $(med .server.api.stream_error_percent "$name") %, players median $(med .server.api.client_error_percent_median "$name") % / worst $(med .server.api.client_error_percent_max "$name") % (target <= 5 %)" "$cmd"
		failed=$(cat "$dir/$name".*.json.status "$dir/$name"-ref.*.json.status 2>/dev/null | grep -cv '^0$' || true)
		if ((failed > 0)); then
			row "rtmp $label checks" "FAILED in $failed runs (players failed or were disconnected; see the log above)" "$cmd"
		fi
	}
	if [[ $configs == *" merged "* ]]; then
		report merged "merged writes, 200 players, 2.6 Mbit/s" 200 "$merged" 0.008 350ms
	fi
	if [[ $configs == *" realtime "* ]]; then
		report realtime "realtime, 200 players, 2.6 Mbit/s" 200 "$realtime" 0.016 0
		row "rtmp realtime against one write per message" \
			"ours/per-message reference x$(ratio realtime realtime-msg) (target <= 0.6); reference $(med .server.cpu_percent_per_mbps realtime-msg) % of a core per Mbit/s, delay p50 $(med .delay_ms.p50 realtime-msg) ms, p99 $(med .delay_ms.p99 realtime-msg) ms; ours p99 $(med .delay_ms.p99 realtime) ms (target <= 15)" \
			"scripts/bench.sh rtmp: $(printf "$shown_ref" -1ms 200)"
	fi
	if [[ $configs == *" mixed "* ]]; then
		local mixed_cmd="scripts/bench.sh rtmp: $(printf "$shown_flv" 100 100); vhost __defaultVhost__ { $merged http_remux { enabled on; } }"
		local flv_cmd="scripts/bench.sh rtmp: $(printf "$shown_flv" 0 200); same vhost"
		row "mixed 100 RTMP + 100 HTTP-FLV players, merged writes, 2.6 Mbit/s: CPU per Mbit/s" \
			"$(med .server.cpu_percent_per_mbps mixed) % of a core (runs: $(all .server.cpu_percent_per_mbps mixed)); RSS per player $(med .server.rss_kb_per_player mixed) KiB; delay p99 $(med .delay_ms.p99 mixed) ms; disconnected $(all .disconnected mixed)" "$mixed_cmd"
		row "HTTP-FLV player against RTMP player (200 each, merged writes, 2.6 Mbit/s)" \
			"HTTP-FLV $(med .server.cpu_percent_per_mbps flv) % of a core per Mbit/s (runs: $(all .server.cpu_percent_per_mbps flv)), RTMP $(med .server.cpu_percent_per_mbps merged); HTTP-FLV/RTMP x$(ratio flv merged) (target <= 1.1); RSS per player HTTP-FLV $(med .server.rss_kb_per_player flv) KiB, RTMP $(med .server.rss_kb_per_player merged) KiB" "$flv_cmd"
	fi
	# No target: this one shows how the cost grows with players at a lower
	# bitrate (smaller writes).
	if [[ $configs == *" big "* ]]; then
		report big "merged writes, $big players, 0.5 Mbit/s" "$big" "$merged" ""
	fi
)
rtmp_suite
