package httpapi

// rawAPI is /api/v1/raw (§6.18), SRS's RAW API, without its envelope.
//
// rpc=raw always answers the http_api settings, never credentials; the
// other rpcs need raw_api.enabled (else 1061). rpc=reload needs
// allow_reload too and only starts the reload; rpc=reload-fetch tells how
// the last one went.
//
// allow_query and allow_update are always false, and rpc=query and
// rpc=update are refused like any unknown rpc (1060): SRS 4 removed them
// (ossrs/srs#2653) because reading and rewriting the configuration over
// HTTP was a security hole.
func (a *API) rawAPI(x *exchange) {
	api := a.settings().HTTPAPI
	rpc := x.query.get("rpc")
	if rpc == "raw" {
		a.respondBare(x, func(j *jsonw) {
			j.obj("http_api")
			j.bool("enabled", api.Enabled)
			j.str("listen", api.Listen)
			j.bool("crossdomain", api.Crossdomain)
			j.obj("raw_api")
			j.bool("enabled", api.RawAPI.Enabled)
			j.bool("allow_reload", api.RawAPI.AllowReload)
			j.bool("allow_query", false)
			j.bool("allow_update", false)
			j.end()
			j.end()
		})
		return
	}
	if !api.RawAPI.Enabled || a.raw == nil {
		a.fail(x, errRawAPIDisabled)
		return
	}
	switch rpc {
	case "reload":
		if !api.RawAPI.AllowReload {
			a.fail(x, errRawAPIDisabled)
			return
		}
		if err := a.raw.Reload(); err != nil {
			a.fail(x, err)
			return
		}
		a.respondBare(x, nil)
	case "reload-fetch":
		st := a.raw.LastReload()
		a.respondBare(x, func(j *jsonw) {
			j.obj("data")
			j.int("err", int64(st.Err))
			j.str("msg", st.Msg)
			j.int("state", int64(st.State))
			j.str("rid", st.RID)
			j.end()
		})
	default:
		a.fail(x, errRawAPI)
	}
}
