package main

import (
	"bytes"
	"log/slog"
	"net/http"
	"regexp"
	"testing"
)

func TestPprofServesOnLoopbackOnly(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0", "nonsense"} {
		if p, err := startPprof(addr, log); err == nil {
			p.Close()
			t.Fatalf("%q accepted", addr)
		}
	}
	var logs bytes.Buffer
	p, err := startPprof("127.0.0.1:0", slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	addr := regexp.MustCompile(`msg="pprof listening" addr=(\S+)`).FindStringSubmatch(logs.String())
	if addr == nil {
		t.Fatalf("no address logged: %s", logs.String())
	}
	res, err := http.Get("http://" + addr[1] + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("goroutine profile: %s", res.Status)
	}
}
