#!/usr/bin/env bash
# End-to-end test of deploy/docker-compose.yml with the images `make docker`
# built (TIDECAST_TAG, default dev): 2 control planes, 3 workers and the
# API balancer in a compose project of its own, real ffmpeg publishers and a
# player on the host. Every published port is on 127.0.0.1 and ephemeral.
#
#  1. both API replicas (each queried directly) and the balancer list every
#     worker, with its RTMP and HTTP-FLV addresses, and every stream and
#     client with the same ids;
#  1b. ffmpeg on the host plays a stream over HTTP-FLV from its worker's
#     published port and decodes video and audio; both replicas list it as
#     flv-play; kicked through the balancer, it exits and leaves both views;
#     a stream nobody publishes answers 404;
#  2. a player on worker 2, found through replica 2, is kicked through
#     replica 1: the ffmpeg player exits and leaves both views;
#  3. worker 1 is stopped: its stream and publisher leave both views
#     within 5 s of the stop;
#  4. control plane 1 is stopped (the balancer keeps answering through
#     replica 2) and started again: its view is rebuilt, the same as
#     before; then the balancer reaches both replicas.
#
# Whatever happens, the project is taken down (down -v --remove-orphans)
# and the script fails if any of its containers, networks or volumes is
# left. Every wait polls with a deadline and every command has a timeout;
# `make e2e-compose` also bounds the whole run.
set -euo pipefail
cd "$(dirname "$0")/.."

COMPOSE_FILE=deploy/docker-compose.yml
PROJECT="tidecast-e2e-$(date +%s)-$$-$RANDOM"
export TIDECAST_TAG=${TIDECAST_TAG:-dev}
TIDECAST_TOKEN="e2e-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
export TIDECAST_TOKEN
export TIDECAST_BIND=127.0.0.1 # loopback only
export TIDECAST_API_PORT=      # the balancer on an ephemeral port too

T0=$(date +%s%3N)
WORK=$(mktemp -d)
declare -A PIDS=() # our background processes: pid → name

now_ms() { date +%s%3N; }
log() { printf '[e2e-compose %6.1fs] %s\n' "$(( $(now_ms) - T0 ))e-3" "$*"; }
fail() {
	log "FAIL: $*" >&2
	exit 1
}
dc() { timeout 180 docker-compose --ansi never -p "$PROJECT" -f "$COMPOSE_FILE" "$@"; }

# alive PID: the process exists and is not a zombie.
alive() { [[ -r /proc/$1/status ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

# reap PID: collect an ended background process and forget it.
reap() {
	wait "$1" 2>/dev/null || true
	unset "PIDS[$1]"
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e # tear down whatever fails here
	for pid in "${!PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${!PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if ((rc != 0)); then
		log "failed; the project's logs:" >&2
		dc logs --no-color --tail=60 >&2 || true
		for f in "$WORK"/*.log; do
			[[ -s $f ]] && { echo "--- $(basename "$f")"; tail -n 20 "$f"; } >&2
		done
	fi
	log "tearing down $PROJECT"
	if ! dc down -v --remove-orphans -t 5 >"$WORK/down.log" 2>&1; then
		cat "$WORK/down.log" >&2
		rc=1
	fi
	# down -v takes everything the project made; check, and remove by label
	# whatever it missed so that nothing is left either way.
	local label="label=com.docker.compose.project=$PROJECT" left
	left=$(
		docker ps -aq --filter "$label"
		docker network ls -q --filter "$label"
		docker volume ls -q --filter "$label"
	)
	if [[ -n $left ]]; then
		log "FAIL: left behind after down: $(echo "$left" | tr '\n' ' ')" >&2
		docker ps -aq --filter "$label" | xargs -r docker rm -f -v >/dev/null 2>&1 || true
		docker network ls -q --filter "$label" | xargs -r docker network rm >/dev/null 2>&1 || true
		docker volume ls -q --filter "$label" | xargs -r docker volume rm >/dev/null 2>&1 || true
		rc=1
	fi
	rm -rf "$WORK"
	if ((rc == 0)); then log "PASS in $(( ($(now_ms) - T0) / 1000 )) s"; else log "FAILED" >&2; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# eventually SECONDS WHAT COMMAND...: poll COMMAND every 100 ms until it
# succeeds; fail after SECONDS. ELAPSED is the wait in ms.
ELAPSED=0
eventually() {
	local secs=$1 what=$2 start
	shift 2
	start=$(now_ms)
	until "$@"; do
		if (($(now_ms) - start > secs * 1000)); then
			fail "$what: not within ${secs} s${WHY:+ ($WHY)}"
		fi
		sleep 0.1
	done
	ELAPSED=$(($(now_ms) - start))
	log "$what: ${ELAPSED} ms"
}

for tool in docker docker-compose ffmpeg curl jq; do
	command -v "$tool" >/dev/null || fail "$tool is required"
done
for img in controlplane dataplane lb; do
	docker image inspect "tidecast/$img:$TIDECAST_TAG" >/dev/null 2>&1 ||
		fail "image tidecast/$img:$TIDECAST_TAG is missing: make docker"
done

# --- helpers on the project's containers -----------------------------------

# cid SERVICE N: the id of container number N of SERVICE.
cid() {
	docker ps -aq --no-trunc --filter "label=com.docker.compose.project=$PROJECT" \
		--filter "label=com.docker.compose.service=$1" --filter "label=com.docker.compose.container-number=$2"
}

# hostport SERVICE N PORT: where the host reaches that container's PORT.
hostport() {
	local hp
	hp=$(docker port "$(cid "$1" "$2")" "$3/tcp" 2>/dev/null | head -n1) || return 1
	[[ $hp == 127.0.0.1:* ]] || return 1
	echo "$hp"
}

# api ADDR PATH: the document, if it answers code 0.
api() {
	local body
	body=$(curl -fsS --max-time 3 "http://$1$2" 2>/dev/null) || return 1
	jq -e '.code == 0' >/dev/null 2>&1 <<<"$body" || return 1
	printf '%s\n' "$body"
}

# view ADDR: what the replica at ADDR shows, reduced to ids, one line.
view() {
	local w s c
	w=$(api "$1" /api/v1/workers/) || return 1
	s=$(api "$1" '/api/v1/streams/?count=100') || return 1
	c=$(api "$1" '/api/v1/clients/?count=100') || return 1
	jq -cn --argjson w "$w" --argjson s "$s" --argjson c "$c" '{
		workers: [$w.workers[].id] | sort,
		streams: [$s.streams[] | {id, name, node, active: .publish.active, publisher: .publish.cid,
			video: .video.codec}] | sort_by(.id),
		clients: [$c.clients[] | {id, stream, type, node}] | sort_by(.id)}'
}

# views_agree JQ_PREDICATE: both replicas answer the same view and it
# satisfies the predicate; the view is left in VIEW.
VIEW=
WHY=
views_agree() {
	local v1 v2
	v1=$(view "$CP1") || { WHY="replica 1 does not answer"; return 1; }
	v2=$(view "$CP2") || { WHY="replica 2 does not answer"; return 1; }
	[[ $v1 == "$v2" ]] || { WHY="replica 1: $v1; replica 2: $v2"; return 1; }
	jq -e "$1" >/dev/null <<<"$v1" || { WHY="view: $v1"; return 1; }
	VIEW=$v1
}

# publish NAME ADDR STREAM: an ffmpeg publisher on the host, in the
# background: H.264 (1 s GOP) + AAC from lavfi test sources, in real time.
publish() {
	ffmpeg -nostdin -hide_banner -loglevel error -re \
		-f lavfi -i testsrc=size=320x180:rate=25 -f lavfi -i sine=frequency=440:sample_rate=44100 \
		-c:v libx264 -preset ultrafast -tune zerolatency -g 25 -keyint_min 25 -pix_fmt yuv420p -b:v 300k \
		-c:a aac -b:a 64k -f flv "rtmp://$2/live/$3" >"$WORK/$1.log" 2>&1 &
	PIDS[$!]=$1
	LAST_PID=$!
}

# flvplay NAME ADDR STREAM: an ffmpeg player of http://ADDR/live/STREAM.flv
# that decodes every frame and writes a line per frame (framecrc).
flvplay() {
	ffmpeg -nostdin -hide_banner -loglevel error -rw_timeout 10000000 -i "http://$2/live/$3.flv" \
		-f framecrc -flush_packets 1 "$WORK/$1.framecrc" >"$WORK/$1.log" 2>&1 &
	PIDS[$!]=$1
	LAST_PID=$!
}

# decoded NAME: "VIDEO AUDIO", the frames flvplay NAME has decoded so far.
decoded() {
	awk '/^#media_type/ { kind[$2 + 0] = $3; next }
		/^[0-9]+,/ { n[kind[$1 + 0]]++ }
		END { printf "%d %d\n", n["video"], n["audio"] }' "$WORK/$1.framecrc" 2>/dev/null || echo "0 0"
}

# play NAME ADDR STREAM: an ffmpeg player that decodes and reports progress.
play() {
	ffmpeg -nostdin -hide_banner -loglevel error -rw_timeout 10000000 -i "rtmp://$2/live/$3" \
		-f null -progress "$WORK/$1.progress" -stats_period 0.2 - >"$WORK/$1.log" 2>&1 &
	PIDS[$!]=$1
	LAST_PID=$!
}

# health_ms CONTAINER: container start to its first passing health probe.
health_ms() {
	local started healthy
	{
		read -r started
		read -r healthy
	} < <(docker inspect "$1" | jq -r '.[0].State | .StartedAt, ([.Health.Log[] | select(.ExitCode == 0) | .End] | first // "")')
	[[ -n $healthy ]] || return 1
	echo $(($(date -d "$healthy" +%s%3N) - $(date -d "$started" +%s%3N)))
}

# --- up ----------------------------------------------------------------------

log "project $PROJECT, images tidecast/*:$TIDECAST_TAG"
UP=$(now_ms)
dc up -d --scale controlplane=2 --scale dataplane=3 >"$WORK/up.log" 2>&1 || {
	cat "$WORK/up.log" >&2
	fail "docker-compose up"
}
log "docker-compose up returned after $(($(now_ms) - UP)) ms"

all_healthy() {
	local ids n=0 s
	ids=$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT")
	for id in $ids; do
		s=$(docker inspect -f '{{.State.Health.Status}}' "$id") || return 1
		[[ $s == healthy ]] || { WHY="$id is $s"; return 1; }
		n=$((n + 1))
	done
	((n == 6)) || { WHY="$n containers"; return 1; }
}
eventually 90 "all 6 containers healthy after up" all_healthy
log "up to all healthy: $(($(now_ms) - UP)) ms"
for svc in controlplane:1 controlplane:2 dataplane:1 dataplane:2 dataplane:3 lb:1; do
	log "  ${svc/:/ #}: start to healthy $(health_ms "$(cid "${svc%:*}" "${svc#*:}")") ms"
done

CP1=$(hostport controlplane 1 1985) || fail "no host port for control plane 1"
CP2=$(hostport controlplane 2 1985) || fail "no host port for control plane 2"
LB=$(hostport lb 1 1985) || fail "no host port for the balancer"
W1=$(hostport dataplane 1 1935) || fail "no host port for worker 1"
W2=$(hostport dataplane 2 1935) || fail "no host port for worker 2"
W3=$(hostport dataplane 3 1935) || fail "no host port for worker 3"
H1=$(hostport dataplane 1 8080) || fail "no HTTP-FLV host port for worker 1"
H2=$(hostport dataplane 2 8080) || fail "no HTTP-FLV host port for worker 2"
N1=$(docker inspect -f '{{.Config.Hostname}}' "$(cid dataplane 1)")
N2=$(docker inspect -f '{{.Config.Hostname}}' "$(cid dataplane 2)")
N3=$(docker inspect -f '{{.Config.Hostname}}' "$(cid dataplane 3)")
log "API replicas $CP1 $CP2, balancer $LB; workers $N1=$W1 $N2=$W2 $N3=$W3; HTTP-FLV $N1=$H1 $N2=$H2"

WORKERS=$(jq -cn --arg a "$N1" --arg b "$N2" --arg c "$N3" '[$a, $b, $c] | sort')
eventually 20 "both replicas list the 3 workers" views_agree ".workers == $WORKERS"

# Each worker advertises <node id>:1935 and <node id>:8080, the addresses
# containers on the compose network reach it at.
ADDRS=$(jq -c 'map({id: ., rtmp: [. + ":1935"], http: [. + ":8080"]})' <<<"$WORKERS")
addrs() { api "$1" /api/v1/workers/ | jq -c '[.workers[] | {id, rtmp, http}] | sort_by(.id)'; }
addrs_listed() {
	local a at
	for at in "$CP1" "$CP2" "$LB"; do
		a=$(addrs "$at") || { WHY="$at does not answer"; return 1; }
		[[ $a == "$ADDRS" ]] || { WHY="$at lists $a"; return 1; }
	done
}
eventually 10 "both replicas and the balancer list each worker's RTMP and HTTP-FLV addresses" addrs_listed
log "addresses: $ADDRS"

# --- 1. the same streams and clients, with the same ids, everywhere ----------

publish pub-a "$W1" a
PUB_A=$LAST_PID
publish pub-b "$W2" b
PUB_B=$LAST_PID
play player "$W2" b
PLAYER=$LAST_PID

receiving() { grep -q '^frame=[1-9]' "$WORK/player.progress" 2>/dev/null; }
eventually 30 "the player on worker 2 decodes frames" receiving
expect_published=$(
	cat <<JQ
(.streams | map({name, node, active, video}) | sort_by(.name)) ==
	[{name: "a", node: "$N1", active: true, video: "H264"}, {name: "b", node: "$N2", active: true, video: "H264"}]
and (.clients | map(.type) | sort) == ["fmle-publish", "fmle-publish", "rtmp-play"]
and ([.streams[].publisher] | sort) == ([.clients[] | select(.type == "fmle-publish") | .id] | sort)
and (.clients[] | select(.type == "rtmp-play") | .node) == "$N2"
JQ
)
eventually 20 "both replicas list 2 streams and 3 clients with the same ids" views_agree "$expect_published"
BEFORE_KICK=$VIEW
log "view: $VIEW"
for _ in 1 2 3 4; do
	v=$(view "$LB") || fail "the balancer does not answer"
	[[ $v == "$BEFORE_KICK" ]] || fail "the balancer answered another view: $v"
done
log "the balancer answers the same view"
for pid in "$PUB_A" "$PUB_B" "$PLAYER"; do
	alive "$pid" || fail "${PIDS[$pid]} exited early"
done

# --- 1b. HTTP-FLV: played from the host, listed, kicked through the balancer

flvplay flv "$H2" b
FLV=$LAST_PID
flv_decoding() {
	local v a
	alive "$FLV" || fail "the HTTP-FLV player exited: $(cat "$WORK/flv.log")"
	read -r v a < <(decoded flv)
	WHY="video $v, audio $a"
	((v >= 50 && a >= 50))
}
eventually 30 "the HTTP-FLV player of http://$H2/live/b.flv decodes video and audio" flv_decoding
log "the HTTP-FLV player decoded $WHY frames"
expect_flv=$(
	cat <<JQ
[.clients[] | select(.type == "flv-play") | {node, stream}] ==
	[{node: "$N2", stream: (.streams[] | select(.name == "b") | .id)}]
and (.clients | length) == 4
JQ
)
eventually 10 "both replicas list the HTTP-FLV player as flv-play of stream b on worker 2" views_agree "$expect_flv"
FLV_CLIENT=$(api "$LB" '/api/v1/clients/?count=100' | jq -c '.clients[] | select(.type == "flv-play") | {id, name, tcUrl}') ||
	fail "the balancer does not answer"
[[ $(jq -r '.name + " " + .tcUrl' <<<"$FLV_CLIENT") == "b.flv http://$H2/live" ]] ||
	fail "the flv-play client is $FLV_CLIENT, want name b.flv, tcUrl http://$H2/live"
FLV_ID=$(jq -r .id <<<"$FLV_CLIENT")
code=$(curl -fsS --max-time 5 -X DELETE "http://$LB/api/v1/clients/$FLV_ID" | jq -r .code) ||
	fail "DELETE /api/v1/clients/$FLV_ID through the balancer"
[[ $code == 0 ]] || fail "the kick through the balancer answered code $code"
flv_gone() { ! alive "$FLV"; }
eventually 5 "the kicked HTTP-FLV player (id $FLV_ID on worker 2) exited" flv_gone
reap "$FLV"
eventually 5 "the kicked HTTP-FLV player left both views" views_agree ". == $BEFORE_KICK"
nobody=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "http://$H1/live/nobody.flv") || true
[[ $nobody == 404 ]] || fail "http://$H1/live/nobody.flv answered $nobody, want 404"
log "a stream nobody publishes answers 404"

# --- 2. a player found through replica 2, kicked through replica 1 -----------

PLAYER_ID=$(api "$CP2" '/api/v1/clients/?count=100' | jq -r '.clients[] | select(.type == "rtmp-play") | .id')
[[ -n $PLAYER_ID ]] || fail "no player listed on replica 2"
KICK=$(now_ms)
code=$(curl -fsS --max-time 5 -X DELETE "http://$CP1/api/v1/clients/$PLAYER_ID" | jq -r .code) ||
	fail "DELETE /api/v1/clients/$PLAYER_ID on replica 1"
[[ $code == 0 ]] || fail "the kick through replica 1 answered code $code"
player_gone() { ! alive "$PLAYER"; }
eventually 5 "the kicked ffmpeg player (id $PLAYER_ID on worker 2) exited" player_gone
reap "$PLAYER"
eventually 5 "the kicked player left both views" views_agree \
	"(.clients | map(.id) | index(\"$PLAYER_ID\")) == null and (.clients | length) == 2"
log "kick to gone from both views: $(($(now_ms) - KICK)) ms"

# --- 3. a stopped worker's streams leave both views within 5 s --------------

STOP=$(now_ms)
timeout 30 docker stop -t 5 "$(cid dataplane 1)" >/dev/null &
STOPPER=$!
PIDS[$STOPPER]="docker stop"
eventually 5 "worker 1 ($N1) and its stream gone from both views after docker stop" views_agree \
	"(.workers | index(\"$N1\")) == null and (.streams | map(.name)) == [\"b\"] and (.clients | length) == 1"
STOP_GONE=$ELAPSED
wait "$STOPPER" || fail "docker stop of worker 1"
unset "PIDS[$STOPPER]"
log "worker 1 stopped after $(($(now_ms) - STOP)) ms"
pub_a_gone() { ! alive "$PUB_A"; }
eventually 15 "the publisher to the stopped worker ended" pub_a_gone
reap "$PUB_A"
alive "$PUB_B" || fail "the publisher to worker 2 exited"

# --- 4. a control plane restarted: the balancer fails over, the view is rebuilt

BEFORE_RESTART=$VIEW
CP1_ID=$(cid controlplane 1)
RESTART=$(now_ms)
timeout 30 docker stop -t 10 "$CP1_ID" >/dev/null || fail "docker stop of control plane 1"
log "control plane 1 stopped after $(($(now_ms) - RESTART)) ms"
for _ in 1 2 3 4; do
	v=$(view "$LB") || fail "the balancer does not answer with control plane 1 down"
	[[ $v == "$BEFORE_RESTART" ]] || fail "the balancer answered another view with control plane 1 down: $v"
done
log "the balancer answers through replica 2 while replica 1 is down"
START=$(now_ms)
timeout 30 docker start "$CP1_ID" >/dev/null || fail "docker start of control plane 1"
rebuilt() {
	# the host port may change with the restart
	CP1=$(hostport controlplane 1 1985) || { WHY="no host port yet"; return 1; }
	views_agree ". == $BEFORE_RESTART"
}
eventually 20 "control plane 1's view rebuilt, the same as replica 2's and as before" rebuilt
log "restart: start to rebuilt view $(($(now_ms) - START)) ms (stop to rebuilt $(($(now_ms) - RESTART)) ms)"

# The balancer reaches both replicas: after the restart each holds other
# connection times for the workers, which tells them apart.
fingerprint() { api "$1" /api/v1/workers/ | jq -c '[.workers[] | {id, connected_ms}] | sort_by(.id)'; }
F1=$(fingerprint "$CP1") || fail "replica 1 does not answer"
F2=$(fingerprint "$CP2") || fail "replica 2 does not answer"
[[ $F1 != "$F2" ]] || fail "the replicas cannot be told apart: $F1"
seen1=0 seen2=0
both_seen() {
	local f
	f=$(fingerprint "$LB") || return 1
	[[ $f == "$F1" ]] && seen1=1
	[[ $f == "$F2" ]] && seen2=1
	WHY="replica 1 seen: $seen1, replica 2 seen: $seen2"
	((seen1 && seen2))
}
eventually 10 "the balancer spreads connections over both replicas" both_seen

alive "$PUB_B" || fail "the publisher to worker 2 exited"
log "stopped worker's streams gone from both views in ${STOP_GONE} ms"
log "all checks passed"
