package httpapi

import (
	"net/http"
	"path"
	"strings"
	"time"

	"tidecast.dev/controlplane/internal/fleet"
)

// clients is /api/v1/clients/ and /api/v1/clients/{id} (§6.17): GET lists
// (paged) or shows one; DELETE of one kicks it (also as GET with
// ?callback=f&method=DELETE).
func (a *API) clients(x *exchange) {
	if x.method == http.MethodDelete {
		a.kick(x)
		return
	}
	v := a.view()
	c, found := v.Client(x.id)
	if err := checkResource(x, found, errClientNotFound, http.MethodGet, http.MethodDelete); err != nil {
		a.fail(x, err)
		return
	}
	switch {
	case x.id != "":
		a.respond(x, func(j *jsonw) {
			j.key("client")
			encodeClient(j, v, c, a.clock())
		})
	default:
		a.respondList(x, v, "clients", len(v.Clients), func(j *jsonw, i int, at time.Time) {
			encodeClient(j, v, v.Clients[i], at)
		})
	}
}

// kick disconnects the client and answers once its worker has: the bare
// envelope when it is gone, the fleet's code when not (2049 when no worker
// has it, 1011 when the worker did not answer in time, 1012 when it cannot
// be reached, or the worker's own, such as 400). SRS answers at once and
// kicks later; waiting costs a round trip and tells the truth.
//
// The view is not consulted: the fleet finds the client's worker itself,
// and a view may need a rebuild (milliseconds in a large fleet) that a
// kick should not wait for. DELETE of the list answers 2049, as in SRS.
func (a *API) kick(x *exchange) {
	if x.id == "" {
		a.fail(x, errClientNotFound)
		return
	}
	if err := a.fleet.Kick(x.r.Context(), x.id); err != nil {
		a.fail(x, err)
		return
	}
	a.respond(x, nil)
}

// encodeClient writes a client as SRS does, then our extension: node, the
// worker serving it. alive is the time since it connected, in seconds.
func encodeClient(j *jsonw, v *fleet.View, c *fleet.Client, now time.Time) {
	j.open()
	j.str("id", c.ID)
	j.str("vhost", c.VhostID)
	j.str("stream", c.StreamID)
	j.str("ip", c.IP)
	j.str("pageUrl", c.PageURL)
	j.str("swfUrl", c.SwfURL)
	j.str("tcUrl", c.TcURL)
	j.str("url", streamURL(c.Vhost, c.App, streamName(v, c)))
	j.str("name", c.Stream)
	j.str("type", c.Type)
	j.bool("publish", c.Publish)
	j.float("alive", now.Sub(c.ConnectedAt).Seconds())
	encodeTraffic(j, c.Traffic())
	j.str("node", string(c.Node))
	j.end()
}

// streamName is the name of the client's stream, which its url uses: the
// client's own name may carry an extension ("livestream.flv").
func streamName(v *fleet.View, c *fleet.Client) string {
	if st, ok := v.Stream(c.StreamID); ok {
		return st.Name
	}
	return strings.TrimSuffix(c.Stream, path.Ext(c.Stream))
}
