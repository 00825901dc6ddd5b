package httpapi

import (
	"net/http"

	"tidecast.dev/controlplane/internal/fleet"
)

// vhosts is /api/v1/vhosts/ and /api/v1/vhosts/{id} (§6.15): GET only, no
// paging (vhosts are few). The list holds the vhosts that have streams or
// clients now; SRS keeps every vhost ever used, which a cluster rebuilt
// from its workers' snapshots cannot know.
func (a *API) vhosts(x *exchange) {
	v := a.view()
	vh, found := v.Vhost(x.id)
	if err := checkResource(x, found, errVhostNotFound, http.MethodGet); err != nil {
		a.fail(x, err)
		return
	}
	configured := a.settings().Vhosts
	if x.id != "" {
		a.respond(x, func(j *jsonw) {
			j.key("vhost")
			encodeVhost(j, vh, configured)
		})
		return
	}
	a.respond(x, func(j *jsonw) {
		j.arr("vhosts")
		for _, vh := range v.Vhosts {
			encodeVhost(j, vh, configured)
		}
		j.endArr()
	})
}

func encodeVhost(j *jsonw, vh *fleet.Vhost, configured []VhostSettings) {
	j.open()
	j.str("id", vh.ID)
	j.str("name", vh.Name)
	j.bool("enabled", vhostEnabled(configured, vh.Name))
	j.int("clients", int64(vh.Clients))
	j.int("streams", int64(vh.Streams))
	encodeTraffic(j, vh.Traffic())
	j.obj("hls")
	j.bool("enabled", false) // the data plane does not make HLS
	j.end()
	j.end()
}

// vhostEnabled is a vhost's enabled directive. A vhost that is not
// configured is served by the default vhost's rules, so it is enabled.
func vhostEnabled(configured []VhostSettings, name string) bool {
	for _, c := range configured {
		if c.Name == name {
			return c.Enabled
		}
	}
	return true
}
