package config

import (
	"strings"
	"time"
)

// configFields lists every directive outside vhost blocks that we implement.
var configFields = []field[Config]{
	endpoints("listen", func(c *Config) *[]string { return &c.Listen }),
	integer("max_connections", 1, maxInt, func(c *Config) *int { return &c.MaxConnections }),
	integer("chunk_size", 128, 65536, func(c *Config) *int { return &c.ChunkSize }),
	optOut("daemon", func(c *Config) *bool { return &c.Daemon }),
	text("pid", func(c *Config) *string { return &c.PidFile }),
	identifier("server_id", func(c *Config) *string { return &c.ServerID }),
	text("work_dir", func(c *Config) *string { return &c.WorkDir }),
	optIn("query_latest_version", func(c *Config) *bool { return &c.QueryLatestVersion }),
	oneOf("srs_log_tank", func(c *Config) *string { return &c.Log.Tank }, "file", "console").alias("SRS_LOG_TANK"),
	text("srs_log_file", func(c *Config) *string { return &c.Log.File }).alias("SRS_LOG_FILE"),
	oneOf("srs_log_level", func(c *Config) *string { return &c.Log.Level },
		"verbose", "info", "trace", "warn", "error").alias("SRS_LOG_LEVEL"),
	oneOf("srs_log_level_v2", func(c *Config) *string { return &c.Log.LevelV2 },
		"trace", "debug", "info", "warn", "error").alias("SRS_LOG_LEVEL_V2"),

	optIn("http_api.enabled", func(c *Config) *bool { return &c.HTTPAPI.Enabled }),
	endpoint("http_api.listen", func(c *Config) *string { return &c.HTTPAPI.Listen }),
	optOut("http_api.crossdomain", func(c *Config) *bool { return &c.HTTPAPI.Crossdomain }),
	optIn("http_api.raw_api.enabled", func(c *Config) *bool { return &c.HTTPAPI.RawAPI.Enabled }),
	optIn("http_api.raw_api.allow_reload", func(c *Config) *bool { return &c.HTTPAPI.RawAPI.AllowReload }),
	accepted[Config]("http_api.raw_api.allow_query"),
	accepted[Config]("http_api.raw_api.allow_update"),
	optIn("http_api.auth.enabled", func(c *Config) *bool { return &c.HTTPAPI.Auth.Enabled }),
	text("http_api.auth.username", func(c *Config) *string { return &c.HTTPAPI.Auth.Username }),
	secret("http_api.auth.password", func(c *Config) *Secret { return &c.HTTPAPI.Auth.Password }),
	optIn("http_api.auth.jsonp", func(c *Config) *bool { return &c.HTTPAPI.Auth.JSONP }),
	optIn("http_api.https.enabled", func(c *Config) *bool { return &c.HTTPAPI.HTTPS.Enabled }),
	endpoint("http_api.https.listen", func(c *Config) *string { return &c.HTTPAPI.HTTPS.Listen }),
	text("http_api.https.key", func(c *Config) *string { return &c.HTTPAPI.HTTPS.Key }),
	text("http_api.https.cert", func(c *Config) *string { return &c.HTTPAPI.HTTPS.Cert }),

	optIn("http_server.enabled", func(c *Config) *bool { return &c.HTTPServer.Enabled }),
	endpoint("http_server.listen", func(c *Config) *string { return &c.HTTPServer.Listen }),
	text("http_server.dir", func(c *Config) *string { return &c.HTTPServer.Dir }),
	optOut("http_server.crossdomain", func(c *Config) *bool { return &c.HTTPServer.Crossdomain }),
	optIn("http_server.https.enabled", func(c *Config) *bool { return &c.HTTPServer.HTTPS.Enabled }),
	endpoint("http_server.https.listen", func(c *Config) *string { return &c.HTTPServer.HTTPS.Listen }),
	text("http_server.https.key", func(c *Config) *string { return &c.HTTPServer.HTTPS.Key }),
	text("http_server.https.cert", func(c *Config) *string { return &c.HTTPServer.HTTPS.Cert }),

	optIn("rtc_server.enabled", func(c *Config) *bool { return &c.RTCServer.Enabled }),
	endpoint("rtc_server.listen", func(c *Config) *string { return &c.RTCServer.Listen }),
	text("rtc_server.candidate", func(c *Config) *string { return &c.RTCServer.Candidate }),
	oneOf("rtc_server.protocol", func(c *Config) *string { return &c.RTCServer.Protocol }, "udp", "tcp", "all"),
	optIn("rtc_server.tcp.enabled", func(c *Config) *bool { return &c.RTCServer.TCP.Enabled }),
	endpoint("rtc_server.tcp.listen", func(c *Config) *string { return &c.RTCServer.TCP.Listen }),
	optOut("rtc_server.encrypt", func(c *Config) *bool { return &c.RTCServer.Encrypt }),
	optOut("rtc_server.api_as_candidates", func(c *Config) *bool { return &c.RTCServer.APIAsCandidates }),
	optOut("rtc_server.resolve_api_domain", func(c *Config) *bool { return &c.RTCServer.ResolveAPIDomain }),
	optIn("rtc_server.keep_api_domain", func(c *Config) *bool { return &c.RTCServer.KeepAPIDomain }),
	optOut("rtc_server.use_auto_detect_network_ip", func(c *Config) *bool { return &c.RTCServer.UseAutoDetectNetworkIP }),
	oneOf("rtc_server.ip_family", func(c *Config) *string { return &c.RTCServer.IPFamily }, "ipv4", "ipv6", "all"),
	optOut("rtc_server.ecdsa", func(c *Config) *bool { return &c.RTCServer.ECDSA }),

	optIn("exporter.enabled", func(c *Config) *bool { return &c.Exporter.Enabled }),
	endpoint("exporter.listen", func(c *Config) *string { return &c.Exporter.Listen }),
	text("exporter.label", func(c *Config) *string { return &c.Exporter.Label }),
	text("exporter.tag", func(c *Config) *string { return &c.Exporter.Tag }),

	endpoint("fleet.listen", func(c *Config) *string { return &c.Fleet.Listen }),
	secret("fleet.token", func(c *Config) *Secret { return &c.Fleet.Token }),
	duration("fleet.ping_interval", time.Millisecond, 1, func(c *Config) *time.Duration { return &c.Fleet.PingInterval }),
	duration("fleet.expire_after", time.Millisecond, 1, func(c *Config) *time.Duration { return &c.Fleet.ExpireAfter }),
	optIn("fleet.tls.enabled", func(c *Config) *bool { return &c.Fleet.TLS.Enabled }),
	text("fleet.tls.key", func(c *Config) *string { return &c.Fleet.TLS.Key }),
	text("fleet.tls.cert", func(c *Config) *string { return &c.Fleet.TLS.Cert }),
	text("fleet.tls.client_ca", func(c *Config) *string { return &c.Fleet.TLS.ClientCA }),
}

// vhostFields lists the directives we implement inside vhost blocks. Their
// environment overrides apply to every vhost.
var vhostFields = []field[Vhost]{
	optOut("vhost.enabled", func(v *Vhost) *bool { return &v.Enabled }),
	optIn("vhost.min_latency", func(v *Vhost) *bool { return &v.MinLatency }),
	optIn("vhost.tcp_nodelay", func(v *Vhost) *bool { return &v.TCPNoDelay }),
	optOut("vhost.play.gop_cache", func(v *Vhost) *bool { return &v.Play.GopCache }),
	integer("vhost.play.gop_cache_max_frames", 0, maxInt, func(v *Vhost) *int { return &v.Play.GopCacheMaxFrames }),
	duration("vhost.play.queue_length", time.Second, 0, func(v *Vhost) *time.Duration { return &v.Play.QueueLength }),
	duration("vhost.play.mw_latency", time.Millisecond, 0, func(v *Vhost) *time.Duration { return &v.Play.MWLatency }),
	integer("vhost.play.mw_msgs", 0, maxInt, func(v *Vhost) *int { return &v.Play.MWMsgs }),
	optIn("vhost.rtc.enabled", func(v *Vhost) *bool { return &v.RTC.Enabled }),
	optIn("vhost.rtc.rtmp_to_rtc", func(v *Vhost) *bool { return &v.RTC.RTMPToRTC }),
	optIn("vhost.rtc.rtc_to_rtmp", func(v *Vhost) *bool { return &v.RTC.RTCToRTMP }),
	optIn("vhost.http_remux.enabled", func(v *Vhost) *bool { return &v.HTTPRemux.Enabled }),
	mount("vhost.http_remux.mount", func(v *Vhost) *string { return &v.HTTPRemux.Mount }),
	// SRS uses fast_cache for .mp3 and .aac mounts only; its FLV ignores it.
	accepted[Vhost]("vhost.http_remux.fast_cache"),
}

// renamed maps the directives SRS renamed in place to their new names
// (srs_config_transform_vhost): SRS 2's http_stream is http_server, SRS 1's
// vhost http and http_flv are http_static and http_remux, and so on. A
// renamed directive is the same directive: given with its new name too,
// the first in the file wins, as for any repeated directive.
var renamed = map[string]string{
	"http_stream":                  "http_server",
	"vhost.http":                   "vhost.http_static",
	"vhost.http_flv":               "vhost.http_remux",
	"vhost.publish_1stpkt_timeout": "vhost.publish",
	"vhost.publish_normal_timeout": "vhost.publish",
	"vhost.refer_play":             "vhost.refer",
	"vhost.refer_publish":          "vhost.refer",
	"vhost.mr":                     "vhost.publish",
	"vhost.mode":                   "vhost.cluster",
	"vhost.origin":                 "vhost.cluster",
	"vhost.token_traverse":         "vhost.cluster",
	"vhost.vhost":                  "vhost.cluster",
	"vhost.debug_srs_upnode":       "vhost.cluster",
}

// movedToPlay maps the vhost directives of SRS 3 and older to where SRS 4+
// moved them. SRS moves each into play, overwriting play's directive of
// that name (see loader.first), and so do we.
var movedToPlay = map[string]string{
	"vhost.gop_cache":              "vhost.play.gop_cache",
	"vhost.queue_length":           "vhost.play.queue_length",
	"vhost.time_jitter":            "vhost.play.time_jitter",
	"vhost.mix_correct":            "vhost.play.mix_correct",
	"vhost.atc":                    "vhost.play.atc",
	"vhost.atc_auto":               "vhost.play.atc_auto",
	"vhost.mw_latency":             "vhost.play.mw_latency",
	"vhost.mw_msgs":                "vhost.play.mw_msgs",
	"vhost.send_min_interval":      "vhost.play.send_min_interval",
	"vhost.reduce_sequence_header": "vhost.play.reduce_sequence_header",
}

// blocks are the blocks the loader descends into. For a strict block an
// unknown child is an error (SRS rejects it); for the others, which SRS does
// not check, it is only a warning.
var blocks = map[string]bool{
	"":                  true, // the root
	"http_api":          true,
	"http_api.raw_api":  true,
	"http_api.auth":     true,
	"http_api.https":    false,
	"http_server":       true,
	"http_server.https": false,
	"rtc_server":        true,
	"rtc_server.tcp":    false,
	"exporter":          true,
	"fleet":             true,
	"fleet.tls":         true,
	"vhost":             true,
	"vhost.play":        true,
	"vhost.rtc":         true,
	"vhost.http_remux":  true,
}

// unsupported are SRS directives we accept without implementing them: each
// is reported once in Config.Warnings and its block, if any, is skipped.
// A non-nil list names the children SRS allows in it; others are errors.
var unsupported = map[string][]string{
	"ff_log_dir":                nil,
	"ff_log_level":              nil,
	"heartbeat":                 {"enabled", "interval", "url", "device_id", "summaries", "ports"},
	"stats":                     {"enabled", "network", "disk"},
	"srt_server":                {"enabled", "listen", "maxbw", "mss", "latency", "recvlatency", "peerlatency", "connect_timeout", "peer_idle_timeout", "sendbuf", "recvbuf", "payloadsize", "default_app", "sei_filter", "mix_correct", "tlpktdrop", "tsbpdmode", "passphrase", "pbkeylen", "default_streamid"},
	"tencentcloud_apm":          nil,
	"tencentcloud_cls":          nil,
	"pithy_print_ms":            nil,
	"stream_caster":             nil,
	"utc_time":                  nil,
	"asprocess":                 nil,
	"grace_final_wait":          nil,
	"force_grace_quit":          nil,
	"grace_start_wait":          nil,
	"empty_ip_ok":               nil,
	"disable_daemon_for_docker": nil,
	"inotify_auto_reload":       nil,
	"auto_reload_for_docker":    nil,
	"tcmalloc_release_rate":     nil,
	"first_wait_for_qlv":        nil,
	"threads":                   nil,
	"circuit_breaker":           nil,
	"is_full":                   nil,
	"in_docker":                 nil,

	"rtc_server.dir":         nil,
	"rtc_server.reuseport":   nil,
	"rtc_server.merge_nalus": nil,
	"rtc_server.black_hole":  nil,

	"vhost.chunk_size":   nil,
	"vhost.dvr":          nil,
	"vhost.ingest":       nil,
	"vhost.hls":          nil,
	"vhost.http_hooks":   nil,
	"vhost.refer":        nil,
	"vhost.forward":      nil,
	"vhost.transcode":    nil,
	"vhost.bandcheck":    nil,
	"vhost.publish":      nil,
	"vhost.cluster":      nil,
	"vhost.security":     nil,
	"vhost.dash":         nil,
	"vhost.http_static":  nil,
	"vhost.hds":          nil,
	"vhost.exec":         nil,
	"vhost.in_ack_size":  nil,
	"vhost.out_ack_size": nil,
	"vhost.srt":          nil,
	"vhost.rtsp":         nil,

	"vhost.play.time_jitter":            nil,
	"vhost.play.mix_correct":            nil,
	"vhost.play.atc":                    nil,
	"vhost.play.atc_auto":               nil,
	"vhost.play.send_min_interval":      nil,
	"vhost.play.reduce_sequence_header": nil,

	"vhost.http_remux.drop_if_not_match": nil,
	"vhost.http_remux.has_audio":         nil,
	"vhost.http_remux.has_video":         nil,
	"vhost.http_remux.guess_has_av":      nil,
	"vhost.http_remux.hstrs":             nil, // SRS 2's; SRS 3+ drops it

	"vhost.rtc.nack":               nil,
	"vhost.rtc.twcc":               nil,
	"vhost.rtc.nack_no_copy":       nil,
	"vhost.rtc.bframe":             nil,
	"vhost.rtc.aac":                nil,
	"vhost.rtc.stun_timeout":       nil,
	"vhost.rtc.stun_strict_check":  nil,
	"vhost.rtc.dtls_role":          nil,
	"vhost.rtc.dtls_version":       nil,
	"vhost.rtc.drop_for_pt":        nil,
	"vhost.rtc.pli_for_rtmp":       nil,
	"vhost.rtc.keep_bframe":        nil,
	"vhost.rtc.opus_bitrate":       nil,
	"vhost.rtc.aac_bitrate":        nil,
	"vhost.rtc.keep_avc_nalu_sei":  nil,
	"vhost.rtc.init_rate_from_sdp": nil,
}

// knownNames holds every directive name of the tables above: the names an
// error about a malformed statement may quote (see lexer.wordError).
var knownNames = func() map[string]bool {
	m := map[string]bool{"include": true, "vhost": true}
	add := func(path string) {
		for part := range strings.SplitSeq(path, ".") {
			m[part] = true
		}
	}
	for _, f := range configFields {
		add(f.path)
	}
	for _, f := range vhostFields {
		add(f.path)
	}
	for p := range blocks {
		add(p)
	}
	for p, children := range unsupported {
		add(p)
		for _, c := range children {
			add(c)
		}
	}
	for p := range renamed {
		add(p)
	}
	for p := range movedToPlay {
		add(p)
	}
	delete(m, "")
	return m
}()

func knownName(s string) bool { return knownNames[s] }
