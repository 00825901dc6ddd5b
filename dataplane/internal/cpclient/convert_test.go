package cpclient

import (
	"reflect"
	"testing"
	"time"

	fleetv1 "tidecast.dev/proto/fleet/v1"

	"tidecast.dev/dataplane/internal/media"
)

func TestFromProtoConfigCarriesTheHTTPServerAndHTTPRemux(t *testing.T) {
	got := fromProtoConfig(&fleetv1.Config{
		Version:    9,
		RtmpListen: []string{"1935"},
		HttpServer: &fleetv1.HTTPServerConfig{Enabled: true, Listen: "127.0.0.1:0"},
		Vhosts: []*fleetv1.VhostConfig{
			{Name: "__defaultVhost__", Enabled: true, GopCache: true, MwLatencyMs: 350,
				HttpRemuxEnabled: true, HttpRemuxMount: "[vhost]/[app]/[stream].flv"},
			{Name: "rtmp.only", Enabled: true, HttpRemuxMount: "[app]/[stream].flv"},
		},
	})
	want := media.Settings{
		Version:    9,
		RTMPListen: []string{"1935"},
		HTTPServer: media.HTTPServerSettings{Enabled: true, Listen: "127.0.0.1:0"},
		Vhosts: []media.VhostSettings{
			{Name: "__defaultVhost__", Enabled: true, GopCache: true, MWLatency: 350 * time.Millisecond,
				HTTPRemux: media.HTTPRemuxSettings{Enabled: true, Mount: "[vhost]/[app]/[stream].flv"}},
			{Name: "rtmp.only", Enabled: true, HTTPRemux: media.HTTPRemuxSettings{Mount: "[app]/[stream].flv"}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("settings = %+v\nwant       %+v", got, want)
	}
}

func TestAnFLVPlayerIsReportedAsAPlayer(t *testing.T) {
	c := toProtoClient(media.ClientInfo{ID: "p48k4vd8", Type: media.FLVPlay, RequestedName: "livestream.flv"})
	if c.GetType() != "flv-play" || c.GetPublish() || c.GetStream() != "livestream.flv" {
		t.Errorf("client = %v, want type flv-play, publish false, stream livestream.flv", c)
	}
}
