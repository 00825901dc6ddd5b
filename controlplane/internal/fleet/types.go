// Package fleet is the control plane's view of every media worker: the
// workers themselves, their streams and clients, and the rates computed from
// their byte counters. It is soft state, rebuilt at any time from the
// workers' snapshots, so any number of control-plane replicas hold the same
// view.
//
// The package is the domain: it imports only the standard library. The gRPC
// adapter converts wire messages into the types below.
package fleet

import (
	"crypto/sha256"
	"time"
)

// NodeID names a worker; BootID names one run of it.
type (
	NodeID string
	BootID string
)

// Hello introduces a worker on a new session.
type Hello struct {
	Node        NodeID
	Boot        BootID
	Version     string
	RTMPAddrs   []string
	HTTPAddrs   []string // HTTP server (HTTP-FLV), empty when it is off
	WebRTCAddrs []string
	StartedAt   time.Time
	PID         int
}

// NodeStats are a worker's host and process figures.
type NodeStats struct {
	At             time.Time
	CPUPercent     float64 // host, fraction: 1.0 = one core
	CPUs           int
	MemTotalKB     uint64
	MemUsedKB      uint64
	Load1          float64
	Load5          float64
	Load15         float64
	ProcCPUPercent float64 // worker process, fraction
	ProcRSSKB      uint64
	ProcGoroutines int
	ProcThreads    int
	ProcFDs        int
	Uptime         time.Duration
	Connections    int
}

// VideoInfo and AudioInfo use SRS's names.
type VideoInfo struct {
	Codec, Profile, Level string
	Width, Height         int
}

// AudioInfo describes a stream's audio track.
type AudioInfo struct {
	Codec      string
	SampleRate int
	Channels   int
	Profile    string
}

// StreamInfo is a stream as a worker reports it.
type StreamInfo struct {
	ID          string
	Vhost       string // name
	App         string
	Name        string
	TcURL       string
	Publishing  bool
	PublisherID string
	Video       *VideoInfo
	Audio       *AudioInfo
	CreatedAt   time.Time
}

// ClientInfo is a client as a worker reports it.
type ClientInfo struct {
	ID          string
	StreamID    string
	Vhost       string // name
	App         string
	Stream      string // name as requested
	IP          string
	PageURL     string
	SwfURL      string
	TcURL       string
	Type        string
	Publish     bool
	ConnectedAt time.Time
}

// Snapshot is a worker's full state as of event Seq.
type Snapshot struct {
	Seq     uint64
	Streams []StreamInfo
	Clients []ClientInfo
}

// EventKind says what an Event reports.
type EventKind int

// The events a worker sends.
const (
	StreamOpened EventKind = iota + 1
	StreamClosed
	ClientJoined
	ClientLeft
	PublishStarted
	PublishStopped
	CodecChanged
)

// Event is one change on a worker.
type Event struct {
	Seq      uint64
	Kind     EventKind
	Stream   *StreamInfo // StreamOpened
	Client   *ClientInfo // ClientJoined
	StreamID string      // StreamClosed, PublishStarted, PublishStopped, CodecChanged
	ClientID string      // ClientLeft, PublishStarted
	Video    *VideoInfo  // CodecChanged
	Audio    *AudioInfo  // CodecChanged
}

// Counters are cumulative byte counts.
type Counters struct {
	SendBytes, RecvBytes uint64
}

// ClientTotals count clients (publish and play sessions) since some
// start: how many joined, and how many of them failed, their session
// ending with an error rather than gracefully (the client ending it or
// closing the connection, or a kick).
type ClientTotals struct {
	Joined, Failed uint64
}

func (c ClientTotals) add(o ClientTotals) ClientTotals {
	return ClientTotals{Joined: c.Joined + o.Joined, Failed: c.Failed + o.Failed}
}

// sinceBoot is what a worker counts since its boot: bytes and clients. A
// replica keeps it for the workers gone, so that the fleet's counters
// never go back.
type sinceBoot struct {
	Counters
	ClientTotals
}

func (c sinceBoot) add(o sinceBoot) sinceBoot {
	return sinceBoot{
		Counters:     Counters{SendBytes: c.SendBytes + o.SendBytes, RecvBytes: c.RecvBytes + o.RecvBytes},
		ClientTotals: c.ClientTotals.add(o.ClientTotals),
	}
}

func (c sinceBoot) sub(o sinceBoot) sinceBoot {
	return sinceBoot{
		Counters:     Counters{SendBytes: c.SendBytes - o.SendBytes, RecvBytes: c.RecvBytes - o.RecvBytes},
		ClientTotals: ClientTotals{Joined: c.Joined - o.Joined, Failed: c.Failed - o.Failed},
	}
}

// Samples are a worker's counters at one instant. They are lists, not
// maps: a worker reports thousands of counters a second, and the registry
// looks each one up in its own tables anyway. Total and ClientTotals are
// the worker's since its boot.
type Samples struct {
	At           time.Time
	Clients      []ClientCounters
	Streams      []StreamCounters
	Total        Counters
	ClientTotals ClientTotals
}

// ClientCounters are one client's counters.
type ClientCounters struct {
	ID string
	Counters
}

// StreamCounters are one stream's counters, with the count of video
// frames received from its publisher.
type StreamCounters struct {
	ID string
	Counters
	Frames uint64
}

// VhostID derives a vhost's id from its name, so that every replica shows
// the same id: "vid-" + 7 chars of [0-9a-z].
func VhostID(name string) string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	sum := sha256.Sum256([]byte("vhost:" + name))
	b := []byte("vid-0000000")
	for i := range 7 {
		b[4+i] = alphabet[int(sum[i])%len(alphabet)]
	}
	return string(b)
}
