package httpapi

import (
	"slices"

	"tidecast.dev/controlplane/internal/fleet"
)

// checkResource applies SRS's order for /vhosts/, /streams/ and /clients/
// (§2.5): an id is looked up before the verb is checked, so DELETE of an
// unknown stream answers 2048 and DELETE of a known one (or of the list)
// 405.
func checkResource(x *exchange, found bool, notFound error, verbs ...string) error {
	if x.id != "" && !found {
		return notFound
	}
	if !slices.Contains(verbs, x.method) {
		return errMethodNotAllowed
	}
	return nil
}

// encodeKbps writes SRS's kbps object, then our current rates.
// encodeTraffic writes SRS's send_bytes, recv_bytes and kbps.
func encodeTraffic(j *jsonw, t fleet.Traffic) {
	j.uint("send_bytes", t.SendBytes)
	j.uint("recv_bytes", t.RecvBytes)
	encodeKbps(j, t.Rates)
}

func encodeKbps(j *jsonw, r fleet.Rates) {
	j.obj("kbps")
	j.int("recv_30s", int64(r.Average.Recv))
	j.int("send_30s", int64(r.Average.Send))
	j.int("recv_now", int64(r.Current.Recv))
	j.int("send_now", int64(r.Current.Send))
	j.end()
}

// streamURL is SRS's stream url: "/app/stream" in the default vhost,
// "vhost/app/stream" in others.
func streamURL(vhost, app, stream string) string {
	if vhost == defaultVhost {
		return "/" + app + "/" + stream
	}
	return vhost + "/" + app + "/" + stream
}

// defaultVhost is SRS's catch-all vhost.
const defaultVhost = "__defaultVhost__"
