package fleet

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestRegistry() (*Registry, *clock) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	return New(3*time.Second, c.now), c
}

func hello(node, boot string) Hello { return Hello{Node: NodeID(node), Boot: BootID(boot)} }

func TestASnapshotThenEventsBuildTheView(t *testing.T) {
	r, _ := newTestRegistry()
	s := r.Attach(hello("w1", "b1"))
	must(t, s.ApplySnapshot(Snapshot{Seq: 4, Streams: []StreamInfo{{ID: "vid-s1", Vhost: "__defaultVhost__", App: "live", Name: "a"}}}))
	must(t, s.ApplyEvent(Event{Seq: 5, Kind: ClientJoined, Client: &ClientInfo{ID: "c1", StreamID: "vid-s1", Vhost: "__defaultVhost__"}}))
	must(t, s.ApplyEvent(Event{Seq: 6, Kind: PublishStarted, StreamID: "vid-s1", ClientID: "c1"}))
	v := r.View()
	if len(v.Clients) != 1 || v.Clients[0].Node != "w1" {
		t.Fatalf("clients = %+v, want c1 on w1", v.Clients)
	}
	st, ok := v.Stream("vid-s1")
	if !ok || !st.Publishing || st.PublisherID != "c1" || st.Clients != 1 {
		t.Fatalf("stream = %+v, want published by c1 with 1 client", st)
	}
	if len(v.Vhosts) != 1 || v.Vhosts[0].ID != VhostID("__defaultVhost__") || v.Vhosts[0].Streams != 1 {
		t.Fatalf("vhosts = %+v, want the default vhost with 1 stream", v.Vhosts)
	}
}

func TestEventsAlreadySeenAreDroppedAndGapsAreReported(t *testing.T) {
	r, _ := newTestRegistry()
	s := r.Attach(hello("w1", "b1"))
	if err := s.ApplyEvent(Event{Seq: 1, Kind: ClientLeft, ClientID: "x"}); !errors.Is(err, ErrUnsynced) {
		t.Fatalf("event before snapshot: %v, want ErrUnsynced", err)
	}
	must(t, s.ApplySnapshot(Snapshot{Seq: 10, Clients: []ClientInfo{{ID: "c1"}}}))
	must(t, s.ApplyEvent(Event{Seq: 9, Kind: ClientLeft, ClientID: "c1"}))
	if _, ok := r.View().Client("c1"); !ok {
		t.Fatal("an event older than the snapshot was applied")
	}
	if err := s.ApplyEvent(Event{Seq: 12, Kind: ClientLeft, ClientID: "c1"}); !errors.Is(err, ErrGap) {
		t.Fatalf("event after a gap: %v, want ErrGap", err)
	}
	if err := s.ApplySnapshot(Snapshot{Seq: 9}); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.View().Client("c1"); !ok {
		t.Fatal("a snapshot older than the held state replaced it")
	}
}

func TestANewBootReplacesTheWorkersStateAndSupersedesTheOldSession(t *testing.T) {
	r, _ := newTestRegistry()
	old := r.Attach(hello("w1", "b1"))
	must(t, old.ApplySnapshot(Snapshot{Seq: 1, Clients: []ClientInfo{{ID: "c1"}}}))
	fresh := r.Attach(hello("w1", "b2"))
	if len(r.View().Clients) != 0 {
		t.Fatal("clients of the previous boot survived a new boot")
	}
	if err := old.ApplySnapshot(Snapshot{Seq: 2, Clients: []ClientInfo{{ID: "c9"}}}); !errors.Is(err, ErrSuperseded) {
		t.Fatalf("old session write: %v, want ErrSuperseded", err)
	}
	must(t, fresh.ApplySnapshot(Snapshot{Seq: 1, Clients: []ClientInfo{{ID: "c2"}}}))
	if _, ok := r.View().Client("c2"); !ok {
		t.Fatal("new boot's snapshot not applied")
	}
}

func TestAReconnectWithTheSameBootKeepsStateUntilItsSnapshot(t *testing.T) {
	r, _ := newTestRegistry()
	s1 := r.Attach(hello("w1", "b1"))
	must(t, s1.ApplySnapshot(Snapshot{Seq: 3, Clients: []ClientInfo{{ID: "c1"}}}))
	s1.Detach()
	if w := r.View().Workers; len(w) != 1 || w[0].Connected {
		t.Fatalf("workers after detach = %+v, want w1 listed as disconnected", w)
	}
	s2 := r.Attach(hello("w1", "b1"))
	if _, ok := r.View().Client("c1"); !ok {
		t.Fatal("state lost on reconnect")
	}
	must(t, s2.ApplySnapshot(Snapshot{Seq: 3}))
	if len(r.View().Clients) != 0 {
		t.Fatal("snapshot after reconnect did not replace the clients")
	}
}

func TestSilentWorkersExpireWithEverythingTheyServed(t *testing.T) {
	r, clk := newTestRegistry()
	s := r.Attach(hello("w1", "b1"))
	must(t, s.ApplySnapshot(Snapshot{Seq: 1, Clients: []ClientInfo{{ID: "c1"}}, Streams: []StreamInfo{{ID: "vid-1"}}}))
	clk.advance(2 * time.Second)
	if n := r.Expire(); n != 0 {
		t.Fatalf("expired %d workers after 2 s, want 0", n)
	}
	must(t, s.Touch())
	clk.advance(3100 * time.Millisecond)
	if n := r.Expire(); n != 1 {
		t.Fatalf("expired %d workers after 3.1 s of silence, want 1", n)
	}
	v := r.View()
	if len(v.Workers)+len(v.Clients)+len(v.Streams) != 0 {
		t.Fatalf("view after expiry = %+v, want empty", v)
	}
}

func TestRatesAverageOverThirtySecondsAndFollowTheCurrentRate(t *testing.T) {
	r, clk := newTestRegistry()
	s := r.Attach(hello("w1", "b1"))
	must(t, s.ApplySnapshot(Snapshot{Seq: 1, Clients: []ClientInfo{{ID: "c1"}}}))
	var sent uint64
	for i := range 40 {
		if i >= 30 {
			sent += 250_000 // 2000 kbit/s in the last 10 s
		} else {
			sent += 125_000 // 1000 kbit/s before
		}
		must(t, s.ApplySamples(Samples{At: clk.now(), Clients: []ClientCounters{{ID: "c1", Counters: Counters{SendBytes: sent}}}}))
		clk.advance(time.Second)
	}
	c, _ := r.View().Client("c1")
	tr := c.Traffic()
	if tr.Current.Send != 2000 {
		t.Fatalf("current send rate = %d kbit/s, want 2000", tr.Current.Send)
	}
	if tr.Average.Send < 1300 || tr.Average.Send > 1400 {
		t.Fatalf("30 s average = %d kbit/s, want about 1333", tr.Average.Send)
	}
	if tr.SendBytes != sent {
		t.Fatalf("send bytes = %d, want %d", tr.SendBytes, sent)
	}
}

func TestASampleNotNewerThanTheLastMovesCountersAndKeepsRates(t *testing.T) {
	r, clk := newTestRegistry()
	s := r.Attach(hello("w1", "b1"))
	must(t, s.ApplySnapshot(Snapshot{Seq: 1, Clients: []ClientInfo{{ID: "c1"}}}))
	for _, sent := range []uint64{0, 125_000} {
		must(t, s.ApplySamples(Samples{At: clk.now(), Clients: []ClientCounters{{ID: "c1", Counters: Counters{SendBytes: sent}}}}))
		clk.advance(time.Second)
	}
	clk.advance(-time.Second) // the same instant again
	must(t, s.ApplySamples(Samples{At: clk.now(), Clients: []ClientCounters{{ID: "c1", Counters: Counters{SendBytes: 999_000}}}}))
	c, _ := r.View().Client("c1")
	if tr := c.Traffic(); tr.SendBytes != 999_000 || tr.Current.Send != 1000 {
		t.Fatalf("traffic = %+v, want the new counters and the rate of the two samples (1000 kbit/s)", tr)
	}
}

func TestAClientMissingFromASampleStartsItsRatesAgain(t *testing.T) {
	r, clk := newTestRegistry()
	s := r.Attach(hello("w1", "b1"))
	must(t, s.ApplySnapshot(Snapshot{Seq: 1, Clients: []ClientInfo{{ID: "c1"}}}))
	sample := func(clients []ClientCounters) {
		must(t, s.ApplySamples(Samples{At: clk.now(), Clients: clients}))
		clk.advance(time.Second)
	}
	sample([]ClientCounters{{ID: "c1", Counters: Counters{SendBytes: 0}}})
	sample(nil) // c1 missed this one
	sample([]ClientCounters{{ID: "c1", Counters: Counters{SendBytes: 1_000_000}}})
	sample([]ClientCounters{{ID: "c1", Counters: Counters{SendBytes: 1_125_000}}})
	c, _ := r.View().Client("c1")
	if tr := c.Traffic(); tr.Current.Send != 1000 || tr.Average.Send != 1000 {
		t.Fatalf("rates = %+v, want 1000 kbit/s from the two samples since the gap", tr.Rates)
	}
}

func TestAClientsRatesSurviveItsCountersPassingFourGiB(t *testing.T) {
	r, clk := newTestRegistry()
	s := r.Attach(hello("w1", "b1"))
	must(t, s.ApplySnapshot(Snapshot{Seq: 1, Clients: []ClientInfo{{ID: "c1"}}}))
	for _, sent := range []uint64{1<<32 - 100_000, 1<<32 + 25_000} {
		must(t, s.ApplySamples(Samples{At: clk.now(), Clients: []ClientCounters{{ID: "c1", Counters: Counters{SendBytes: sent}}}}))
		clk.advance(time.Second)
	}
	c, _ := r.View().Client("c1")
	if tr := c.Traffic(); tr.Current.Send != 1000 || tr.SendBytes != 1<<32+25_000 {
		t.Fatalf("traffic = %+v, want 1000 kbit/s and the full counter", tr)
	}
}

func TestTheViewIsRebuiltOnlyForMembershipAndCountersMoveWithoutIt(t *testing.T) {
	r, clk := newTestRegistry()
	s := r.Attach(hello("w1", "b1"))
	must(t, s.ApplySnapshot(Snapshot{Seq: 1, Clients: []ClientInfo{{ID: "c1"}}}))
	v1 := r.View()
	if r.View() != v1 {
		t.Fatal("view rebuilt with no change")
	}
	must(t, s.ApplySamples(Samples{At: clk.now(), Clients: []ClientCounters{{ID: "c1", Counters: Counters{SendBytes: 42}}}}))
	if r.View() != v1 {
		t.Fatal("view rebuilt for counters")
	}
	if c, _ := v1.Client("c1"); c.Traffic().SendBytes != 42 {
		t.Fatalf("counters seen through the existing view = %d, want 42", c.Traffic().SendBytes)
	}
	must(t, s.ApplyEvent(Event{Seq: 2, Kind: ClientJoined, Client: &ClientInfo{ID: "c2"}}))
	if v2 := r.View(); v2 == v1 || v2.Version <= v1.Version || len(v2.Clients) != 2 {
		t.Fatal("view not rebuilt at once for a new client")
	}
}

func TestOwnerOfFindsANewClientWithoutRebuildingTheView(t *testing.T) {
	r, _ := newTestRegistry()
	s := r.Attach(hello("w1", "b1"))
	must(t, s.ApplySnapshot(Snapshot{Seq: 1, Clients: []ClientInfo{{ID: "c1"}}}))
	if node, ok := r.OwnerOf("c1"); !ok || node != "w1" {
		t.Fatalf("OwnerOf(c1) = %q, %v; want w1 from the view", node, ok)
	}
	built := r.view.Load()
	must(t, s.ApplyEvent(Event{Seq: 2, Kind: ClientJoined, Client: &ClientInfo{ID: "c2"}}))
	if node, ok := r.OwnerOf("c2"); !ok || node != "w1" {
		t.Fatalf("OwnerOf(c2) = %q, %v; want w1 from the worker's table", node, ok)
	}
	if _, ok := r.OwnerOf("c9"); ok {
		t.Fatal("OwnerOf found a client nobody serves")
	}
	if r.view.Load() != built {
		t.Fatal("OwnerOf rebuilt the view")
	}
}

func TestListsFromSeveralWorkersAreMergedInIDOrder(t *testing.T) {
	r, _ := newTestRegistry()
	a := r.Attach(hello("w1", "b1"))
	b := r.Attach(hello("w2", "b1"))
	must(t, a.ApplySnapshot(Snapshot{Seq: 1, Clients: []ClientInfo{{ID: "c3"}, {ID: "c1"}, {ID: "c5"}}}))
	must(t, b.ApplySnapshot(Snapshot{Seq: 1, Clients: []ClientInfo{{ID: "c4"}, {ID: "c2"}}}))
	var ids []string
	for _, c := range r.View().Clients {
		ids = append(ids, c.ID+"@"+string(c.Node))
	}
	want := []string{"c1@w1", "c2@w2", "c3@w1", "c4@w2", "c5@w1"}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("clients = %v, want %v", ids, want)
	}
}

func TestAWorkerWhoseSessionEndedExpiresSooner(t *testing.T) {
	r, clk := newTestRegistry()
	s := r.Attach(hello("w1", "b1"))
	must(t, s.ApplySnapshot(Snapshot{Seq: 1, Clients: []ClientInfo{{ID: "c1"}}}))
	s.Detach()
	clk.advance(900 * time.Millisecond)
	if n := r.Expire(); n != 0 {
		t.Fatal("a detached worker expired before a third of the expiry time")
	}
	clk.advance(200 * time.Millisecond)
	if n := r.Expire(); n != 1 {
		t.Fatal("a detached worker did not expire after a third of the expiry time")
	}
}

func TestFleetTotalsSumTheWorkersAndKeepThoseOfWorkersGone(t *testing.T) {
	r, clk := newTestRegistry()
	// Each worker reports 100 bytes sent and 10 received per client, so
	// the fleet's byte counters follow its client count.
	report := func(s *Session, joined, failed uint64) {
		t.Helper()
		must(t, s.ApplySamples(Samples{
			At:           clk.now(),
			Total:        Counters{SendBytes: 100 * joined, RecvBytes: 10 * joined},
			ClientTotals: ClientTotals{Joined: joined, Failed: failed},
		}))
	}
	var last ClientTotals
	want := func(joined, failed uint64, what string) {
		t.Helper()
		v := r.View()
		got := v.ClientTotals()
		if got != (ClientTotals{Joined: joined, Failed: failed}) {
			t.Fatalf("%s: fleet totals = %+v, want %d joined, %d failed", what, got, joined, failed)
		}
		if got.Joined < last.Joined || got.Failed < last.Failed {
			t.Fatalf("%s: fleet totals went back from %+v to %+v", what, last, got)
		}
		if bytes := v.Total().Counters; bytes != (Counters{SendBytes: 100 * joined, RecvBytes: 10 * joined}) {
			t.Fatalf("%s: fleet bytes = %+v, want %d sent, %d received", what, bytes, 100*joined, 10*joined)
		}
		last = got
	}
	w1 := r.Attach(hello("w1", "b1"))
	w2 := r.Attach(hello("w2", "b1"))
	report(w1, 5, 1)
	report(w2, 3, 0)
	want(8, 1, "two workers")
	if w, _ := r.View().Worker("w1"); w.ClientTotals() != (ClientTotals{Joined: 5, Failed: 1}) {
		t.Fatalf("w1's totals = %+v, want 5 joined, 1 failed", w.ClientTotals())
	}

	w1 = r.Attach(hello("w1", "b2"))
	want(8, 1, "w1 restarted")
	report(w1, 2, 1)
	want(10, 2, "w1's new boot reporting")

	clk.advance(2 * time.Second)
	must(t, w1.Touch())
	clk.advance(2 * time.Second)
	if n := r.Expire(); n != 1 {
		t.Fatalf("expired %d workers, want w2", n)
	}
	want(10, 2, "w2 expired")

	w2 = r.Attach(hello("w2", "b1"))
	want(10, 2, "w2 back with the same boot")
	report(w2, 4, 0) // one more client while it was away: counted once
	want(11, 2, "w2 reporting again")

	report(r.Attach(hello("w2", "b2")), 0, 0)
	want(11, 2, "w2 restarted")
	clk.advance(4 * time.Second)
	if n := r.Expire(); n != 2 {
		t.Fatalf("expired %d workers, want both", n)
	}
	want(11, 2, "every worker expired")
	w2 = r.Attach(hello("w2", "b3")) // restarted while away: starts from zero
	report(w2, 1, 1)
	want(12, 3, "w2's third boot reporting")
}

func TestVhostIDsAreStableAndShaped(t *testing.T) {
	id := VhostID("__defaultVhost__")
	if id != VhostID("__defaultVhost__") || len(id) != 11 || id[:4] != "vid-" {
		t.Fatalf("VhostID = %q, want a stable vid-xxxxxxx", id)
	}
	if VhostID("a.example") == id {
		t.Fatal("different vhosts share an id")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
