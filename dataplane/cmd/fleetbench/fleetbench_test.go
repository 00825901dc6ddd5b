package main

import (
	"math/rand/v2"
	"os"
	"testing"
	"time"

	fleetv1 "tidecast.dev/proto/fleet/v1"
)

func TestPercentilesAreNearestRank(t *testing.T) {
	var l latencies
	for i := 1; i <= 200; i++ {
		l = append(l, time.Duration(201-i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{50: 100, 90: 180, 99: 198, 100: 200} {
		if got := l.percentile(p); got != want*time.Millisecond {
			t.Errorf("p%v = %v, want %v", p, got, want*time.Millisecond)
		}
	}
	if got := (latencies{}).percentile(99); got != 0 {
		t.Errorf("p99 of nothing = %v, want 0", got)
	}
}

func TestAFakeWorkerDropsAKickedClientAndReportsItLeft(t *testing.T) {
	w := newFakeWorker("fake-000", 50, 5, rand.New(rand.NewPCG(1, 2)), map[string]bool{})
	victim := w.ids[7]
	kick := &fleetv1.ControlMessage{Body: &fleetv1.ControlMessage_Kick{Kick: &fleetv1.Kick{CommandId: "k1", ClientId: victim}}}
	out := w.answer(kick)
	if len(out) != 2 || out[0].GetEvent().GetClientLeft() != victim || out[0].GetEvent().GetSeq() != 2 ||
		out[1].GetCommandResult().GetCode() != 0 {
		t.Fatalf("answer = %v, want ClientLeft %s (seq 2) then code 0", out, victim)
	}
	if len(w.snap.Clients) != 49 || len(w.samples.Clients) != 49 || len(w.rates) != 49 || len(w.streamOf) != 49 {
		t.Fatal("the kicked client is still in the worker's tables")
	}
	for i, c := range w.snap.Clients {
		if w.index[c.Id] != i || w.samples.Clients[i].Id != c.Id || c.Id == victim {
			t.Fatalf("tables out of step at %d", i)
		}
	}
	if out := w.answer(kick); len(out) != 1 || out[0].GetCommandResult().GetCode() != 2049 {
		t.Fatalf("second kick = %v, want code 2049", out)
	}
	w.tick(time.Now()) // counters still line up with the clients
}

func TestReadProcSeesThisProcess(t *testing.T) {
	s, err := readProc(os.Getpid())
	if err != nil || s.rssBytes <= 0 {
		t.Fatalf("readProc = %+v, %v", s, err)
	}
	if err := checkAlive([]int{os.Getpid()}); err != nil {
		t.Fatal(err)
	}
	if peak, err := peakRSS(os.Getpid()); err != nil || peak < s.rssBytes/2 {
		t.Fatalf("peakRSS = %d, %v", peak, err)
	}
}
