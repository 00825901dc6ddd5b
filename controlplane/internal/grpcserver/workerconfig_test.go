package grpcserver

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	fleetv1 "tidecast.dev/proto/fleet/v1"

	"tidecast.dev/controlplane/internal/config"
)

func TestWorkerConfigCarriesTheHTTPServerAndEachVhostsHTTPRemux(t *testing.T) {
	cfg := config.Defaults()
	cfg.HTTPServer.Enabled, cfg.HTTPServer.Listen = true, "127.0.0.1:8081"
	live := cfg.Vhosts[0]
	live.Name, live.HTTPRemux = "live.example", config.HTTPRemux{Enabled: true, Mount: "[app]/[stream].flv"}
	cfg.Vhosts = append(cfg.Vhosts, live)

	got := workerConfig(cfg)
	if hs := got.GetHttpServer(); !proto.Equal(hs, &fleetv1.HTTPServerConfig{Enabled: true, Listen: "127.0.0.1:8081"}) {
		t.Errorf("http_server = %v, want enabled on 127.0.0.1:8081", hs)
	}
	type remux struct {
		enabled bool
		mount   string
	}
	var remuxes []remux
	for _, v := range got.GetVhosts() {
		remuxes = append(remuxes, remux{v.GetHttpRemuxEnabled(), v.GetHttpRemuxMount()})
	}
	want := []remux{{false, config.DefaultHTTPRemuxMount}, {true, "[app]/[stream].flv"}}
	if !slices.Equal(remuxes, want) {
		t.Errorf("vhosts' http_remux = %v, want %v", remuxes, want)
	}
}

func TestAnHTTPServerOrHTTPRemuxChangeIsANewConfigVersion(t *testing.T) {
	base := config.Defaults()
	for name, change := range map[string]func(*config.Config){
		"http_server.enabled":    func(c *config.Config) { c.HTTPServer.Enabled = true },
		"http_server.listen":     func(c *config.Config) { c.HTTPServer.Listen = "8081" },
		"http_remux.enabled":     func(c *config.Config) { c.Vhosts[0].HTTPRemux.Enabled = true },
		"http_remux.mount":       func(c *config.Config) { c.Vhosts[0].HTTPRemux.Mount = "[stream].flv" },
		"nothing pushed (a dir)": nil,
	} {
		t.Run(name, func(t *testing.T) {
			c := base.Clone()
			if change == nil {
				c.HTTPServer.Dir = "/srv"
			} else {
				change(c)
			}
			same := workerConfig(c).GetVersion() == workerConfig(base).GetVersion()
			if same != (change == nil) {
				t.Errorf("same version = %v, want %v", same, change == nil)
			}
		})
	}
}
