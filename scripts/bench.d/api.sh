# shellcheck shell=bash
# HTTP API: the issue "The SRS-compatible HTTP API, complete, for the whole
# fleet, usable from browsers"'s figures against the real binaries (bin/,
# built by make bench) on loopback ports they pick themselves.
#
# One data plane serves API_PLAYERS (200) RTMP players (rtmpload, one
# process) of a pre-encoded 2.6 Mbit/s FLV replayed in real time (rtmpload
# -publish: nothing is encoded at bench time), and reports to three control
# planes alike but for http_api.auth: off, a plain password, a bcrypt hash.
# While the players receive, wrk (-t2 -c64 -d10s, keep-alive, --latency)
# loads, each API_RUNS (3) times, interleaved:
#   GET /api/v1/versions and GET /api/v1/clients/?count=100 (~31 KB) on the
#   control plane without auth, and the same two bodies, captured first with
#   curl, from a bare net/http server (controlplane/cmd/apibench serve) with
#   the same Content-Type: req/s ratio target >= 70 %, p99 target <= 5 ms;
#   GET /api/v1/versions with Basic credentials on the plain and the hashed
#   control planes: hashed target >= 90 % of plain.
# The table shows medians (ratios: the median of the per-round ratios) and
# the data plane's egress as the players measured it, in 5 s buckets over
# the wrk rounds. Sourced by scripts/bench.sh, which provides row.
# API_QUICK=1 runs one short round with 20 players, to check the suite.

api_suite() (
	set -euo pipefail
	local dir pids=() quick=${API_QUICK:-} runs=${API_RUNS:-3} players=${API_PLAYERS:-200} duration=10s
	if [[ -n $quick ]]; then runs=1 players=20 duration=3s; fi
	dir=$(mktemp -d)
	# shellcheck disable=SC2317 # run by the trap
	cleanup() {
		local p
		for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
		wait 2>/dev/null || true
		rm -rf "$dir"
	}
	trap cleanup EXIT
	trap 'exit 130' INT TERM

	local load=$dir/rtmpload tool=$dir/apibench
	go build -o "$load" ./dataplane/cmd/rtmpload
	go build -o "$tool" ./controlplane/cmd/apibench

	# await_clients API N [HEADER]: waits up to 30 s for the API to count N
	# clients.
	await_clients() {
		local i n=
		for ((i = 0; i < 600; i++)); do
			n=$(curl -fsS ${3:+-H "$3"} "http://$1/api/v1/vhosts/" 2>/dev/null | jq '[.vhosts[].clients] | add // 0') || true
			if [[ $n == "$2" ]]; then return; fi
			sleep 0.05
		done
		echo "the API counts ${n:-no} clients, not $2, after 30 s" >&2
		return 1
	}

	# start_cp NAME AUTH_BLOCK: a control plane on loopback ports; sets
	# cp_api and appends its fleet address to fleets.
	local fleets=() cp_api
	start_cp() {
		cat >"$dir/$1.conf" <<-CONF
			listen 127.0.0.1:0;
			max_connections 3000;
			daemon off;
			srs_log_tank console;
			server_id vid-apibench;
			pid $dir/$1.pid;
			http_api { enabled on; listen 127.0.0.1:0; $2 }
			fleet { listen 127.0.0.1:0; token apibench; }
			vhost __defaultVhost__ { }
		CONF
		bin/controlplane -c "$dir/$1.conf" >"$dir/$1.log" 2>&1 &
		pids+=("$!")
		fleets+=("$(await_log "$dir/$1.log" 'msg="fleet endpoint listening" addr=([^ ]+)')")
		cp_api=$(await_log "$dir/$1.log" 'msg="http api listening" addr=([^ ]+)')
	}

	local password=apibench-secret hash open plain hashed
	hash=$("$tool" bcrypt "$password")
	start_cp open ""
	open=$cp_api
	start_cp plain "auth { enabled on; username bench; password $password; }"
	plain=$cp_api
	start_cp hashed "auth { enabled on; username bench; password \"bcrypt:$hash\"; }"
	hashed=$cp_api
	local creds
	creds="Authorization: Basic $(printf 'bench:%s' "$password" | base64)"
	for a in "$plain" "$hashed"; do
		if [[ $(curl -s -o /dev/null -w '%{http_code}' "http://$a/api/v1/versions") != 401 ||
			$(curl -s -o /dev/null -w '%{http_code}' -H "$creds" "http://$a/api/v1/versions") != 200 ]]; then
			echo "auth on $a does not answer 401 without and 200 with the credentials" >&2
			return 1
		fi
	done

	# One worker for the three control planes: they all see its players.
	local fleet_list rtmp
	fleet_list=$(
		IFS=,
		echo "${fleets[*]}"
	)
	bin/dataplane -node-id apibench -control-plane "$fleet_list" -token apibench \
		-rtmp-listen 127.0.0.1:0 >"$dir/dp.log" 2>&1 &
	pids+=("$!")
	rtmp=$(await_log "$dir/dp.log" 'msg=listening component=rtmp addr=([^ ]+)')
	await_log "$dir/dp.log" 'msg="(applied control-plane config)"' >/dev/null
	"$load" -publish "$(flv 2500 128)" -url "rtmp://$rtmp/live/bench" -duration 0 >/dev/null 2>"$dir/pub.log" &
	pids+=("$!")
	await_clients "$open" 1

	# The players play until interrupted; the egress buckets count from
	# their start.
	local load_pid load_start
	load_start=$(date +%s.%N)
	"$load" -url "rtmp://$rtmp/live/bench" -players "$players" -warmup 1s -duration 24h >"$dir/load.json" 2>"$dir/load.log" &
	load_pid=$!
	pids+=("$load_pid")
	await_clients "$open" $((players + 1))
	await_clients "$hashed" $((players + 1)) "$creds"

	# The reference bodies, captured from the API with its Content-Type.
	local ct_versions ct_clients bare clients_bytes
	ct_versions=$(curl -fsS -o "$dir/versions.json" -w '%{content_type}' "http://$open/api/v1/versions")
	ct_clients=$(curl -fsS -o "$dir/clients.json" -w '%{content_type}' "http://$open/api/v1/clients/?count=100")
	if [[ $ct_versions != "$ct_clients" ]]; then
		echo "versions ($ct_versions) and clients ($ct_clients) differ in Content-Type" >&2
		return 1
	fi
	clients_bytes=$(wc -c <"$dir/clients.json")
	"$tool" serve -content-type "$ct_versions" \
		/api/v1/versions="$dir/versions.json" /api/v1/clients/="$dir/clients.json" >"$dir/bare.log" 2>&1 &
	pids+=("$!")
	bare=$(await_log "$dir/bare.log" 'listening ([^ ]+)')
	if ! cmp -s <(curl -fsS "http://$bare/api/v1/clients/?count=100") "$dir/clients.json"; then
		echo "the bare server does not answer the captured body" >&2
		return 1
	fi

	# bench NAME URL [HEADER]: one wrk run, its output in NAME.<round>.
	local wrk_cmd="wrk -t2 -c64 -d$duration --latency" round errors=0
	bench() {
		local out=$dir/$1.$round
		local shown=$2
		if [[ -n ${3:-} ]]; then shown="-H \"Authorization: Basic <bench:$password>\" $2"; fi
		echo "== $wrk_cmd $shown  # $1, round $round" >&2
		$wrk_cmd ${3:+-H "$3"} "$2" >"$out"
		if grep -qE 'Non-2xx|Socket errors' "$out"; then
			echo "$1 round $round: $(grep -E 'Non-2xx|Socket errors' "$out")" >&2
			errors=$((errors + 1))
		fi
	}
	# A discarded pass first: the view settles after the players joined,
	# and every server's connections and heap warm up.
	round=warmup
	bench versions "http://$open/api/v1/versions"
	bench clients-bare "http://$bare/api/v1/clients/?count=100"
	local wrk_start wrk_end
	wrk_start=$(date +%s.%N)
	for ((round = 1; round <= runs; round++)); do
		bench versions "http://$open/api/v1/versions"
		bench versions-bare "http://$bare/api/v1/versions"
		bench clients "http://$open/api/v1/clients/?count=100"
		bench clients-bare "http://$bare/api/v1/clients/?count=100"
		bench auth-plain "http://$plain/api/v1/versions" "$creds"
		bench auth-hashed "http://$hashed/api/v1/versions" "$creds"
	done
	wrk_end=$(date +%s.%N)

	kill -TERM "$load_pid" # rtmpload stops its players and writes its report
	local load_status=0
	wait "$load_pid" || load_status=$?

	# rps NAME / p99 NAME: every round's figure, one per line.
	rps() { for ((round = 1; round <= runs; round++)); do awk '/^Requests\/sec:/ {print $2}' "$dir/$1.$round"; done; }
	p99() {
		for ((round = 1; round <= runs; round++)); do
			awk '$1 == "99%" {v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
				printf "%.2f\n", v * (u == "us" ? 0.001 : u == "s" ? 1000 : u == "m" ? 60000 : 1)}' "$dir/$1.$round"
		done
	}
	# ratios A B: every round's A/B in percent.
	ratios() { paste <(rps "$1") <(rps "$2") | awk '{printf "%.1f\n", 100 * $1 / $2}'; }
	# median / list: of the lines on stdin.
	median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
	list() { paste -sd' '; }

	local cmd="scripts/bench.sh api: $players RTMP players; $wrk_cmd http://<api>/PATH, same body from apibench serve"
	local what name path
	for what in versions clients; do
		path=/api/v1/versions
		name="GET $path"
		if [[ $what == clients ]]; then
			path="/api/v1/clients/?count=100"
			name="GET $path ($clients_bytes B)"
		fi
		row "api $name req/s" \
			"ours $(rps $what | median), bare net/http $(rps $what-bare | median) (runs: ours $(rps $what | list); bare $(rps $what-bare | list))" \
			"$cmd"
		row "api $name ours/bare" \
			"$(ratios $what $what-bare | median) % (runs: $(ratios $what $what-bare | list); target >= 70 %)" "$cmd"
		row "api $name p99 latency" \
			"ours $(p99 $what | median) ms, bare $(p99 $what-bare | median) ms (runs: ours $(p99 $what | list); bare $(p99 $what-bare | list); target <= 5 ms)" \
			"$cmd"
	done

	cmd="scripts/bench.sh api: $players RTMP players; $wrk_cmd [-H 'Authorization: Basic ...'] http://<api>/api/v1/versions"
	row "api auth off / plain / bcrypt req/s" \
		"$(rps versions | median) / $(rps auth-plain | median) / $(rps auth-hashed | median) (runs: off $(rps versions | list); plain $(rps auth-plain | list); bcrypt $(rps auth-hashed | list))" \
		"$cmd"
	row "api auth bcrypt/plain" \
		"$(ratios auth-hashed auth-plain | median) % (runs: $(ratios auth-hashed auth-plain | list); target >= 90 %; plain/off $(ratios auth-plain versions | median) %)" \
		"$cmd"
	row "api auth p99 latency off / plain / bcrypt" \
		"$(p99 versions | median) / $(p99 auth-plain | median) / $(p99 auth-hashed | median) ms" "$cmd"

	# The 5 s buckets that lie within the wrk rounds.
	local buckets
	buckets=$(jq -r '.egress_mbps_5s[]' "$dir/load.json" | awk -v s="$load_start" -v a="$wrk_start" -v b="$wrk_end" \
		'{t = s + 5 * (NR - 1); if (t >= a && t + 5 <= b) print $1}')
	cmd="rtmpload -url rtmp://<rtmp>/live/bench -players $players (one process), during the wrk rounds above"
	row "api data-plane egress during the rounds (5 s buckets)" \
		"$(list <<<"$buckets") Mbit/s (min $(sort -g <<<"$buckets" | head -n1), median $(median <<<"$buckets"), max $(sort -g <<<"$buckets" | tail -n1))" "$cmd"
	row "api players" \
		"$(jq -r '"\(.connected)/\(.players) connected, \(.disconnected) disconnected, \(.failed) failed"' "$dir/load.json"); frames dropped $(jq -r '.total.dropped_frames' "$dir/load.json")" "$cmd"
	if ((errors > 0 || load_status != 0)); then
		row "api checks" "FAILED: $errors wrk runs with errors or non-2xx answers; rtmpload exit $load_status (see the log above)" "$cmd"
	else
		row "api checks" "passed: every wrk answer 2xx, no player lost" "$cmd"
	fi
)
api_suite
