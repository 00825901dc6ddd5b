package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"tidecast.dev/dataplane/internal/amf0"
	"tidecast.dev/dataplane/internal/rtmp/chunk"
	"tidecast.dev/dataplane/internal/rtmp/handshake"
)

// The reference server (-reference) is what the benchmark measures the
// data plane against: the least an RTMP server can do to send one stream
// to N players. It answers connect, createStream and play with canned
// replies, encodes each message of the file once (as the hub does) and
// writes it to every player with one writev per batch, a batch being
// due once it spans more than -mw of media time (the data plane's rule;
// 0 is realtime: a message waits for a later one only if it comes within
// -soon, as the data plane predicts; below 0, every message is written
// at once),
// from one goroutine: no
// queues, wall-clock bounds, slow
// reader bounds, stats or deadlines. Players measure it as they measure
// the data plane, so the ratio of the CPU figures is what the data plane
// adds to the kernel's cost of the same writes.

// refChunkSize is the chunk size messages are encoded with (the data
// plane's default).
const refChunkSize = 60000

type reference struct {
	mu sync.Mutex
	// conns are all the connections, to close at the end; players are
	// those playing.
	conns, players []net.Conn
	// headers are the encoded metadata and sequence headers, for players
	// to come.
	headers [][]byte
}

func runReference(ctx context.Context, addr, file string, mw, soon time.Duration, stderr io.Writer) error {
	tags, err := readFLVFile(file)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "rtmpload: reference listening addr=%s\n", ln.Addr())
	ref := &reference{}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			ref.mu.Lock()
			ref.conns = append(ref.conns, nc)
			ref.mu.Unlock()
			wg.Go(func() { ref.admit(nc) })
		}
	})

	var batch, nb net.Buffers
	var first uint32
	flush := func() {
		ref.mu.Lock()
		players := ref.players
		ref.mu.Unlock()
		for _, nc := range players {
			nb = append(nb[:0], batch...)
			if _, err := nb.WriteTo(nc); err != nil {
				ref.drop(nc)
			}
		}
		clear(batch)
		batch = batch[:0]
	}
	err = play(ctx, tags, func(t tag, ts uint32, loops int, untilNext time.Duration) error {
		wire := chunk.AppendMessage(nil, refChunkSize, &chunk.Message{CSID: chunk.CSIDStream, Type: t.typ, StreamID: 1, Timestamp: ts, Payload: t.body})
		if loops == 0 && t.header() {
			ref.mu.Lock()
			ref.headers = append(ref.headers, wire)
			ref.mu.Unlock()
		}
		if len(batch) == 0 {
			first = ts
		}
		batch = append(batch, wire)
		wait := mw > 0 || (mw == 0 && untilNext <= soon)
		if wait && !t.header() && time.Duration(ts-first)*time.Millisecond <= mw {
			return nil
		}
		flush()
		return nil
	})
	ln.Close()
	ref.mu.Lock()
	for _, nc := range ref.conns {
		nc.Close()
	}
	ref.mu.Unlock()
	wg.Wait()
	return err
}

// admit answers a player's handshake, connect, createStream and play,
// sends the headers and adds it to the fan-out.
func (ref *reference) admit(nc net.Conn) {
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := handshake.Server(nc); err != nil {
		nc.Close()
		return
	}
	cr := chunk.NewReader(nc, chunk.ReaderConfig{})
	for {
		m, err := cr.ReadMessage()
		if err != nil {
			nc.Close()
			return
		}
		if m.Type != chunk.TypeCommandAMF0 {
			continue
		}
		vals, _ := amf0.Decode(m.Payload)
		if len(vals) < 2 {
			continue
		}
		var reply []byte
		switch vals[0] {
		case "connect":
			reply = chunk.AppendSetChunkSize(nil, refChunkSize)
			reply = appendCommand(reply, "_result", vals[1], amf0.Object{{Key: "fmsVer", Value: "FMS/3,5,3,888"}},
				amf0.Object{{Key: "level", Value: "status"}, {Key: "code", Value: "NetConnection.Connect.Success"}})
		case "createStream":
			reply = appendCommand(nil, "_result", vals[1], nil, 1.0)
		case "play":
			reply = appendCommand(nil, "onStatus", 0.0, nil,
				amf0.Object{{Key: "level", Value: "status"}, {Key: "code", Value: "NetStream.Play.Start"}})
			ref.mu.Lock()
			defer ref.mu.Unlock()
			for _, h := range ref.headers {
				reply = append(reply, h...)
			}
			if _, err := nc.Write(reply); err != nil {
				nc.Close()
				return
			}
			nc.SetDeadline(time.Time{})
			ref.players = append(ref.players, nc)
			return
		}
		if _, err := nc.Write(reply); err != nil {
			nc.Close()
			return
		}
	}
}

// drop closes a player that failed; the fan-out goes on without it.
func (ref *reference) drop(nc net.Conn) {
	nc.Close()
	ref.mu.Lock()
	defer ref.mu.Unlock()
	for i, p := range ref.players {
		if p == nc {
			ref.players = append(ref.players[:i:i], ref.players[i+1:]...)
			return
		}
	}
}

func appendCommand(dst []byte, vals ...any) []byte {
	p, _ := amf0.Append(nil, vals...) // canned values always encode
	return chunk.AppendMessage(dst, refChunkSize, &chunk.Message{CSID: chunk.CSIDConnection, Type: chunk.TypeCommandAMF0, Payload: p})
}
