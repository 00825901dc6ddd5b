package httpapi

import (
	"net/http"
	"time"

	"tidecast.dev/controlplane/internal/fleet"
)

// streams is /api/v1/streams/ and /api/v1/streams/{id} (§6.16): GET only
// (kick a stream's publisher through /clients/ instead), the list paged by
// start and count.
func (a *API) streams(x *exchange) {
	v := a.view()
	st, found := v.Stream(x.id)
	if err := checkResource(x, found, errStreamNotFound, http.MethodGet); err != nil {
		a.fail(x, err)
		return
	}
	if x.id != "" {
		a.respond(x, func(j *jsonw) {
			j.key("stream")
			encodeStream(j, st, a.clock())
		})
		return
	}
	a.respondList(x, v, "streams", len(v.Streams), func(j *jsonw, i int, at time.Time) {
		encodeStream(j, v.Streams[i], at)
	})
}

// encodeStream writes a stream as SRS does, then our extension: node, the
// worker serving it. live_ms is SRS's quirk: the time of the answer.
func encodeStream(j *jsonw, st *fleet.Stream, now time.Time) {
	j.open()
	j.str("id", st.ID)
	j.str("name", st.Name)
	j.str("vhost", st.VhostID)
	j.str("app", st.App)
	j.str("tcUrl", st.TcURL)
	j.str("url", streamURL(st.Vhost, st.App, st.Name))
	j.int("live_ms", now.UnixMilli())
	j.int("clients", int64(st.Clients))
	j.uint("frames", st.Frames())
	encodeTraffic(j, st.Traffic())
	j.obj("publish")
	j.bool("active", st.Publishing)
	if st.PublisherID != "" { // SRS omits cid until the stream was published
		j.str("cid", st.PublisherID)
	}
	j.end()
	if v := st.Video; v != nil {
		j.obj("video")
		j.str("codec", v.Codec)
		j.str("profile", v.Profile)
		j.str("level", v.Level)
		j.int("width", int64(v.Width))
		j.int("height", int64(v.Height))
		j.end()
	} else {
		j.null("video")
	}
	if au := st.Audio; au != nil {
		j.obj("audio")
		j.str("codec", au.Codec)
		j.int("sample_rate", int64(au.SampleRate))
		j.int("channel", int64(au.Channels))
		j.str("profile", au.Profile)
		j.end()
	} else {
		j.null("audio")
	}
	j.str("node", string(st.Node))
	j.end()
}
