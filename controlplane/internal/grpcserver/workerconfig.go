package grpcserver

import (
	"hash/fnv"

	"google.golang.org/protobuf/proto"

	fleetv1 "tidecast.dev/proto/fleet/v1"

	"tidecast.dev/controlplane/internal/config"
)

// workerConfig extracts the settings workers run with. Its version is a
// hash of the settings themselves, so every replica loading the same file
// pushes the same version and a worker applies it once.
func workerConfig(c *config.Config) *fleetv1.Config {
	out := &fleetv1.Config{
		RtmpListen:     c.Listen,
		ChunkSize:      int32(c.ChunkSize),
		MaxConnections: int32(c.MaxConnections),
		Webrtc: &fleetv1.WebRTCConfig{
			Enabled: c.RTCServer.Enabled,
			Listen:  c.RTCServer.Listen,
		},
		HttpServer: &fleetv1.HTTPServerConfig{
			Enabled: c.HTTPServer.Enabled,
			Listen:  c.HTTPServer.Listen,
		},
	}
	if c.RTCServer.Candidate != "" && c.RTCServer.Candidate != "*" {
		out.Webrtc.Candidates = []string{c.RTCServer.Candidate}
	}
	for _, v := range c.Vhosts {
		out.Vhosts = append(out.Vhosts, &fleetv1.VhostConfig{
			Name:        v.Name,
			Enabled:     v.Enabled,
			GopCache:    v.Play.GopCache,
			MwLatencyMs: mwLatencyMs(v),
			RtcEnabled:  v.RTC.Enabled,
			RtmpToRtc:   v.RTC.RTMPToRTC,
			RtcToRtmp:   v.RTC.RTCToRTMP,

			HttpRemuxEnabled: v.HTTPRemux.Enabled,
			HttpRemuxMount:   v.HTTPRemux.Mount,
		})
	}
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(out) // a plain message always marshals
	h := fnv.New64a()
	h.Write(b)
	out.Version = h.Sum64() | 1 // never 0, which means "no config yet"
	return out
}

// mwLatencyMs is 0 (realtime) when the vhost asks for minimum latency.
func mwLatencyMs(v config.Vhost) int32 {
	if v.Realtime() {
		return 0
	}
	return int32(v.Play.MWLatency.Milliseconds())
}

// SetWorkerConfig derives the workers' settings from the control plane's
// configuration and pushes them to every connected worker.
func (s *Server) SetWorkerConfig(c *config.Config) {
	s.setConfig(workerConfig(c))
}
