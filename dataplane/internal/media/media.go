// Package media holds the data plane's domain types: ids, what a stream and a
// client are, their counters and the errors the API reports. It imports only
// the standard library so that every adapter (RTMP, WebRTC, the control-plane
// client) can share it without importing each other.
package media

import (
	"crypto/rand"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// ClientID identifies a media connection across the whole fleet: 8 chars of
// [0-9a-z], as SRS prints its connection context ids.
type ClientID string

// StreamID identifies a stream on one worker: "vid-" + 7 chars of [0-9a-z].
type StreamID string

// ClientType is the SRS name of what a client does.
type ClientType string

// The client types SRS reports; the API shows them verbatim.
const (
	FMLEPublish  ClientType = "fmle-publish"
	FlashPublish ClientType = "flash-publish"
	RTMPPlay     ClientType = "rtmp-play"
	FLVPlay      ClientType = "flv-play"
	RTCPublish   ClientType = "rtc-publish"
	RTCPlay      ClientType = "rtc-play"
)

// IsPublish tells whether the client sends media into the server.
func (t ClientType) IsPublish() bool {
	return t == FMLEPublish || t == FlashPublish || t == RTCPublish
}

// DefaultVhost is the catch-all vhost used when a request names no
// configured vhost.
const DefaultVhost = "__defaultVhost__"

// StreamKey names a stream: one publisher and its readers share it.
type StreamKey struct {
	Vhost string
	App   string
	Name  string
}

// String renders the key as SRS prints a stream url: "/app/name" on the
// default vhost, "vhost/app/name" elsewhere.
func (k StreamKey) String() string {
	if k.Vhost == DefaultVhost || k.Vhost == "" {
		return "/" + k.App + "/" + k.Name
	}
	return k.Vhost + "/" + k.App + "/" + k.Name
}

// StreamInfo is what the API shows of a stream, minus counters.
type StreamInfo struct {
	ID        StreamID
	Key       StreamKey
	TcURL     string
	CreatedAt time.Time
}

// ClientInfo is what the API shows of a client, minus counters.
type ClientInfo struct {
	ID       ClientID
	StreamID StreamID
	Type     ClientType
	Key      StreamKey
	// RequestedName is the stream name as the client sent it (it may keep
	// an extension or a query).
	RequestedName string
	IP            string
	PageURL       string
	SwfURL        string
	TcURL         string
	ConnectedAt   time.Time
}

// VideoInfo describes a stream's video track with SRS's names
// (codec H264/HEVC/..., profile "High", level "3.1").
type VideoInfo struct {
	Codec   string
	Profile string
	Level   string
	Width   int
	Height  int
}

// AudioInfo describes a stream's audio track with SRS's names
// (codec AAC, profile "LC").
type AudioInfo struct {
	Codec      string
	SampleRate int
	Channels   int
	Profile    string
}

// Counters are a connection's cumulative byte counts. The connection's own
// goroutines add to them; a sampler reads them. They are never reset.
type Counters struct {
	SendBytes atomic.Uint64
	RecvBytes atomic.Uint64
}

// StreamCounters are a stream's cumulative counts.
type StreamCounters struct {
	Counters
	// Frames counts video frames received from the publisher.
	Frames atomic.Uint64
}

const idAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz"

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}

// NewClientID makes a random client id. 36^8 values keep collisions across
// a fleet of a million clients below one in five thousand; the registry
// still checks for a clash on its own worker.
func NewClientID() ClientID { return ClientID(randomID(8)) }

// NewStreamID makes a random stream id.
func NewStreamID() StreamID { return StreamID("vid-" + randomID(7)) }

// Settings are what the control plane tells a worker to run with.
type Settings struct {
	// Version identifies the control plane's config; 0 before any arrived.
	Version        uint64
	RTMPListen     []string // [ip:]port
	ChunkSize      int
	MaxConnections int
	Vhosts         []VhostSettings
	WebRTC         WebRTCSettings
	HTTPServer     HTTPServerSettings
}

// HTTPServerSettings configure the worker's HTTP server (SRS's
// http_server), which serves HTTP-FLV.
type HTTPServerSettings struct {
	Enabled bool
	Listen  string // [ip:]port
}

// HTTPRemuxSettings are a vhost's HTTP-FLV settings (SRS's http_remux).
type HTTPRemuxSettings struct {
	Enabled bool
	// Mount is the URL path template, SRS's default
	// "[vhost]/[app]/[stream].flv".
	Mount string
}

// VhostSettings are a vhost's media settings.
type VhostSettings struct {
	Name     string
	Enabled  bool
	GopCache bool
	// MWLatency is how long a reader's messages are gathered before one
	// write; 0 is realtime.
	MWLatency time.Duration
	RTC       bool
	RTMPToRTC bool
	RTCToRTMP bool
	HTTPRemux HTTPRemuxSettings
}

// WebRTCSettings configure the WebRTC listener.
type WebRTCSettings struct {
	Enabled    bool
	Listen     string
	Candidates []string
}

// Codec names as SRS reports them.
const (
	CodecH264  = "H264"
	CodecHEVC  = "HEVC"
	CodecAV1   = "AV1"
	CodecVP6   = "VP6"
	CodecAAC   = "AAC"
	CodecMP3   = "MP3"
	CodecOpus  = "Opus"
	CodecOther = "Other"
)

// ResolveVhost finds the settings of a requested vhost as SRS does: the
// vhost itself, else __defaultVhost__; with no vhost configured at all,
// every request gets def. ok is false when neither is configured (while
// some vhost is).
func ResolveVhost[T any](vhosts map[string]T, name string, def T) (string, T, bool) {
	if v, ok := vhosts[name]; ok && name != "" {
		return name, v, true
	}
	if v, ok := vhosts[DefaultVhost]; ok {
		return DefaultVhost, v, true
	}
	if len(vhosts) == 0 {
		return DefaultVhost, def, true
	}
	var zero T
	return "", zero, false
}

// VhostParam returns the vhost a query names with "vhost=" or, as SRS
// also accepts, "domain=".
func VhostParam(q url.Values) string {
	if v := q.Get("vhost"); v != "" {
		return v
	}
	return q.Get("domain")
}

// ListenAddr turns a listen directive's "[ip:]port" into a host:port for
// net.Listen.
func ListenAddr(a string) (string, error) {
	a = strings.TrimSpace(a)
	if _, err := strconv.ParseUint(a, 10, 16); err == nil {
		return ":" + a, nil
	}
	if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
		return "", fmt.Errorf("listen address %q is not [ip:]port", a)
	}
	return a, nil
}
