#!/usr/bin/env bash
# generate: regenerate proto/**/*.pb.go. check: fail when they are stale.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.tools:$PATH"

want=$(sed -n 's/^PROTOC_VERSION *:= *//p' Makefile)
have=$(protoc --version | awk '{print $2}')
if [[ "$have" != "$want" ]]; then
	echo "protoc $have found, $want expected (Debian 12's protobuf-compiler)" >&2
	exit 1
fi

generate() { # into dir
	(cd proto && find . -name '*.proto' -print0 | xargs -0 protoc \
		--go_out="$1" --go_opt=paths=source_relative \
		--go-grpc_out="$1" --go-grpc_opt=paths=source_relative)
}

case "${1:-}" in
generate) generate . ;;
check)
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	generate "$tmp"
	stale=0
	while IFS= read -r f; do
		if ! cmp -s "$tmp/$f" "proto/$f"; then
			echo "stale: proto/$f (run make proto)" >&2
			stale=1
		fi
	done < <(cd "$tmp" && find . -name '*.go' | sed 's|^\./||')
	if ((stale)); then exit 1; fi
	echo "generated code is up to date"
	;;
*)
	echo "usage: $0 generate|check" >&2
	exit 2
	;;
esac
