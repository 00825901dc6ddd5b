#!/usr/bin/env bash
# Installs what the build and the tests need, skipping what is present.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(
	protobuf-compiler # protoc, for make proto
	ffmpeg            # real RTMP publisher and player in tests
	wrk               # HTTP load in make bench
	jq                # reads JSON reports in make bench
	chromium          # headless browser for the CORS/JSONP tests (chromedp)
	docker.io docker-compose # images and the compose deployment test
	gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
	gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly # rtmp2sink publisher in tests
)
missing=()
for p in "${apt_packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=600 update -qq
	apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

tools=.tools
mkdir -p "$tools"
install_tool() { # name module@version
	local stamp="$tools/.$1.version"
	if [[ -x "$tools/$1" && "$(cat "$stamp" 2>/dev/null)" == "$2" ]]; then return; fi
	echo "installing $2"
	GOBIN="$PWD/$tools" GOWORK=off go install "$2"
	echo "$2" >"$stamp"
}
make_var() { sed -n "s/^$1 *:= *//p" Makefile; }
install_tool protoc-gen-go "google.golang.org/protobuf/cmd/protoc-gen-go@$(make_var PROTOC_GEN_GO_VERSION)"
install_tool protoc-gen-go-grpc "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(make_var PROTOC_GEN_GO_GRPC_VERSION)"
