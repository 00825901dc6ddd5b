package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	fleetv1 "tidecast.dev/proto/fleet/v1"
)

// fakeWorker speaks a worker's side of the fleet protocol for made-up
// clients: Hello and a Snapshot, then every second Samples whose counters
// move and NodeStats; it answers Pings and Resyncs, and a Kick of one of
// its clients by dropping it (a ClientLeft event) and answering 0. It
// counts the marshalled size of what it sends, by kind.
//
// Its state belongs to the goroutine running its session.
type fakeWorker struct {
	hello *fleetv1.WorkerMessage
	// snap is the worker's state; a resync sends it as it is.
	snap *fleetv1.Snapshot
	// samples, rates (bytes a second) and streamOf (the index of the
	// client's stream) follow snap.Clients position by position.
	samples  *fleetv1.Samples
	rates    []uint64
	streamOf []int
	index    map[string]int // client id → position
	// ids are the clients it started with, for choosing whom to kick.
	ids []string

	sampleBytes, statsBytes, otherBytes atomic.Int64
}

// newFakeWorker makes a worker with clients spread over streams; the
// first client of each stream publishes it. Client ids are random like a
// real worker's (8 chars of [0-9a-z]) and unique across taken.
func newFakeWorker(node string, clients, streams int, rng *rand.Rand, taken map[string]bool) *fakeWorker {
	now := time.Now()
	w := &fakeWorker{
		hello: &fleetv1.WorkerMessage{Body: &fleetv1.WorkerMessage_Hello{Hello: &fleetv1.Hello{
			NodeId: node, BootId: fmt.Sprintf("%016x", rng.Uint64()), Version: "fleetbench",
			RtmpAddresses: []string{node + ".example.com:1935"}, StartedAtMs: now.UnixMilli(), Pid: int32(os.Getpid()),
		}}},
		snap:    &fleetv1.Snapshot{Seq: 1, TakenAtMs: now.UnixMilli()},
		samples: &fleetv1.Samples{},
		index:   make(map[string]int, clients),
	}
	for s := range streams {
		id := "vid-" + randomID(rng, 7, taken)
		w.snap.Streams = append(w.snap.Streams, &fleetv1.Stream{
			Id: id, Vhost: "__defaultVhost__", App: "live", Name: fmt.Sprintf("stream-%d", s),
			TcUrl: "rtmp://" + node + ".example.com/live", Publishing: true, CreatedAtMs: now.UnixMilli(),
			Video: &fleetv1.VideoInfo{Codec: "H264", Profile: "High", Level: "3.1", Width: 1280, Height: 720},
			Audio: &fleetv1.AudioInfo{Codec: "AAC", SampleRate: 44100, Channels: 2, Profile: "LC"},
		})
		w.samples.Streams = append(w.samples.Streams, &fleetv1.StreamCounters{Id: id})
	}
	for i := range clients {
		st := w.snap.Streams[i%streams]
		c := &fleetv1.Client{
			Id: randomID(rng, 8, taken), StreamId: st.Id, Vhost: st.Vhost, App: st.App, Stream: st.Name,
			Ip: fmt.Sprintf("10.%d.%d.%d", rng.IntN(256), rng.IntN(256), rng.IntN(256)), TcUrl: st.TcUrl,
			Type: "rtmp-play", ConnectedAtMs: now.Add(-time.Duration(rng.IntN(3600)) * time.Second).UnixMilli(),
		}
		if i < streams {
			c.Type, c.Publish = "fmle-publish", true
			st.PublisherClientId = c.Id
		}
		w.index[c.Id] = i
		w.ids = append(w.ids, c.Id)
		w.snap.Clients = append(w.snap.Clients, c)
		w.samples.Clients = append(w.samples.Clients, &fleetv1.ClientCounters{Id: c.Id})
		w.rates = append(w.rates, uint64(100_000+rng.IntN(300_000))) // 0.8 to 3.2 Mbit/s
		w.streamOf = append(w.streamOf, i%streams)
	}
	return w
}

// drop removes the client at position i, moving the last one there.
func (w *fakeWorker) drop(i int) {
	last := len(w.snap.Clients) - 1
	delete(w.index, w.snap.Clients[i].Id)
	if i != last {
		w.snap.Clients[i], w.samples.Clients[i] = w.snap.Clients[last], w.samples.Clients[last]
		w.rates[i], w.streamOf[i] = w.rates[last], w.streamOf[last]
		w.index[w.snap.Clients[i].Id] = i
	}
	w.snap.Clients, w.samples.Clients = w.snap.Clients[:last], w.samples.Clients[:last]
	w.rates, w.streamOf = w.rates[:last], w.streamOf[:last]
}

func randomID(rng *rand.Rand, n int, taken map[string]bool) string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	for {
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		if id := string(b); !taken[id] {
			taken[id] = true
			return id
		}
	}
}

// tick moves every counter by a second's worth of traffic: players send,
// publishers receive.
func (w *fakeWorker) tick(now time.Time) {
	s := w.samples
	s.AtMs = now.UnixMilli()
	for i, c := range s.Clients {
		rate, st := w.rates[i], s.Streams[w.streamOf[i]]
		if w.snap.Clients[i].Publish {
			c.RecvBytes += rate
			st.RecvBytes += rate
			st.Frames += 30
			s.RecvBytes += rate
		} else {
			c.SendBytes += rate
			st.SendBytes += rate
			s.SendBytes += rate
		}
		c.RecvBytes += 40 // acknowledgements
	}
}

// run holds one session on conn until ctx ends. The first report goes
// after phase, so that workers do not all report at the same instant.
func (w *fakeWorker) run(ctx context.Context, conn *grpc.ClientConn, token string, phase time.Duration) error {
	// Ending the session's context ends the stream and its receiver.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	stream, err := fleetv1.NewFleetClient(conn).Session(ctx)
	if err != nil {
		return err
	}
	send := func(m *fleetv1.WorkerMessage, counter *atomic.Int64) error {
		counter.Add(int64(proto.Size(m)))
		return stream.Send(m)
	}
	if err := send(w.hello, &w.otherBytes); err != nil {
		return err
	}
	if err := send(w.snapshotMessage(), &w.otherBytes); err != nil {
		return err
	}
	received := make(chan *fleetv1.ControlMessage)
	recvErr := make(chan error, 1)
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			select {
			case received <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	// Pings wait while the first report is delayed: a second at most.
	delay := time.NewTimer(phase)
	defer delay.Stop()
	select {
	case <-ctx.Done():
		return nil
	case <-delay.C:
	}
	samples := &fleetv1.WorkerMessage{Body: &fleetv1.WorkerMessage_Samples{Samples: w.samples}}
	report := func(now time.Time) error {
		w.tick(now)
		if err := send(samples, &w.sampleBytes); err != nil {
			return err
		}
		return send(nodeStats(now, len(w.samples.Clients)), &w.statsBytes)
	}
	if err := report(time.Now()); err != nil {
		return err
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-recvErr:
			return err
		case now := <-tick.C:
			if err := report(now); err != nil {
				return err
			}
		case m := <-received:
			for _, reply := range w.answer(m) {
				if err := send(reply, &w.otherBytes); err != nil {
					return err
				}
			}
		}
	}
}

// answer returns the replies to a control message.
func (w *fakeWorker) answer(m *fleetv1.ControlMessage) []*fleetv1.WorkerMessage {
	switch b := m.GetBody().(type) {
	case *fleetv1.ControlMessage_Ping:
		return []*fleetv1.WorkerMessage{{Body: &fleetv1.WorkerMessage_Pong{Pong: &fleetv1.Pong{Nonce: b.Ping.GetNonce()}}}}
	case *fleetv1.ControlMessage_Resync:
		return []*fleetv1.WorkerMessage{w.snapshotMessage()}
	case *fleetv1.ControlMessage_Kick:
		res := &fleetv1.CommandResult{CommandId: b.Kick.GetCommandId()}
		out := []*fleetv1.WorkerMessage{{Body: &fleetv1.WorkerMessage_CommandResult{CommandResult: res}}}
		i, ok := w.index[b.Kick.GetClientId()]
		if !ok {
			res.Code, res.Message = 2049, "client not found"
			return out
		}
		// As a real worker does, the client leaves (an event) and the
		// kick is answered.
		w.drop(i)
		w.snap.Seq++
		left := &fleetv1.WorkerMessage{Body: &fleetv1.WorkerMessage_Event{Event: &fleetv1.Event{
			Seq: w.snap.Seq, AtMs: time.Now().UnixMilli(), Kind: &fleetv1.Event_ClientLeft{ClientLeft: b.Kick.GetClientId()},
		}}}
		return append([]*fleetv1.WorkerMessage{left}, out...)
	}
	return nil
}

func (w *fakeWorker) snapshotMessage() *fleetv1.WorkerMessage {
	w.snap.TakenAtMs = time.Now().UnixMilli()
	return &fleetv1.WorkerMessage{Body: &fleetv1.WorkerMessage_Snapshot{Snapshot: w.snap}}
}

func nodeStats(now time.Time, clients int) *fleetv1.WorkerMessage {
	return &fleetv1.WorkerMessage{Body: &fleetv1.WorkerMessage_NodeStats{NodeStats: &fleetv1.NodeStats{
		AtMs: now.UnixMilli(), CpuPercent: 0.42, Cpus: 16, MemTotalKb: 64 << 20, MemUsedKb: 12 << 20,
		Load1: 3.1, Load5: 2.9, Load15: 2.7, ProcCpuPercent: 2.5, ProcRssKb: 900 << 10,
		ProcGoroutines: int32(3*clients + 40), ProcThreads: 24, ProcFds: int32(clients + 30),
		UptimeSeconds: 3600, Connections: int32(clients),
	}}}
}
