package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"time"
)

// Report is the JSON a player run writes.
type Report struct {
	URL     string  `json:"url"`
	Players int     `json:"players"`
	FPS     float64 `json:"fps"`
	// Connected got to play; Failed never did; Disconnected were lost
	// before the end.
	Connected      int     `json:"connected"`
	Failed         int     `json:"failed"`
	Disconnected   int     `json:"disconnected"`
	ConnectSeconds float64 `json:"connect_seconds"`
	// Window leaves the warm-up out; Total runs from the first connect.
	Window Figures `json:"window"`
	Total  Figures `json:"total"`
	// Delay is the window's delivery delays (see delay.go).
	Delay Delay `json:"delay_ms"`
	// Egress over each second (and each 5 s) of the run, in Mbit/s.
	Egress1s  []float64       `json:"egress_mbps_1s"`
	Egress5s  []float64       `json:"egress_mbps_5s"`
	Server    *ServerFigures  `json:"server,omitempty"`
	PerPlayer []PlayerFigures `json:"per_player"`
}

// Figures are what the players received over a span.
type Figures struct {
	Seconds     float64 `json:"seconds"`
	Bytes       uint64  `json:"bytes"`
	Mbps        float64 `json:"mbps"`
	VideoFrames uint64  `json:"video_frames"`
	AudioFrames uint64  `json:"audio_frames"`
	// DroppedFrames are the video frames missing from timestamp gaps.
	DroppedFrames     uint64 `json:"dropped_frames"`
	PlayersWithDrops  int    `json:"players_with_drops"`
	PlayerKbps        Dist   `json:"player_kbps"`
	PlayerVideoFrames Dist   `json:"player_video_frames"`
}

// Dist summarises one figure over the players.
type Dist struct {
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
}

// PlayerFigures are one player's counts over the whole run.
type PlayerFigures struct {
	State         string  `json:"state"`
	Error         string  `json:"error,omitempty"`
	Bytes         uint64  `json:"bytes"`
	VideoFrames   uint64  `json:"video_frames"`
	AudioFrames   uint64  `json:"audio_frames"`
	DroppedFrames uint64  `json:"dropped_frames"`
	WindowKbps    float64 `json:"window_kbps"`
}

var stateNames = map[int32]string{dialing: "dialing", playing: "playing", failed: "failed", disconnected: "disconnected", stopped: "stopped"}

func newReport(cfg *loadConfig, players []*player, zero, from, to snapshot, connect time.Duration, eg *egress) *Report {
	r := &Report{
		URL:            cfg.url,
		Players:        len(players),
		FPS:            cfg.fps,
		ConnectSeconds: round2(connect.Seconds()),
		Window:         figures(from, to),
		Total:          figures(zero, to),
		Delay:          delayFigures(players),
		Egress1s:       eg.buckets(1),
		Egress5s:       eg.buckets(5),
	}
	for i, p := range players {
		st := p.state.Load()
		switch st {
		case failed:
			r.Failed++
		case disconnected:
			r.Disconnected++
		}
		if st != failed {
			r.Connected++
		}
		c := to.counts[i]
		r.PerPlayer = append(r.PerPlayer, PlayerFigures{
			State: stateNames[st], Error: p.errString(),
			Bytes: c.bytes, VideoFrames: c.video, AudioFrames: c.audio, DroppedFrames: c.dropped,
			WindowKbps: round2(1000 * mbps(c.bytes-from.counts[i].bytes, to.at.Sub(from.at))),
		})
	}
	r.Server = serverFigures(cfg, zero.server, from.server, to.server, r)
	return r
}

func figures(from, to snapshot) Figures {
	d := to.at.Sub(from.at)
	f := Figures{Seconds: round2(d.Seconds())}
	kbps := make([]float64, len(to.counts))
	video := make([]float64, len(to.counts))
	for i, c := range to.counts {
		b := from.counts[i]
		f.Bytes += c.bytes - b.bytes
		f.VideoFrames += c.video - b.video
		f.AudioFrames += c.audio - b.audio
		if drops := c.dropped - b.dropped; drops > 0 {
			f.DroppedFrames += drops
			f.PlayersWithDrops++
		}
		kbps[i] = 1000 * mbps(c.bytes-b.bytes, d)
		video[i] = float64(c.video - b.video)
	}
	f.Mbps = round2(mbps(f.Bytes, d))
	f.PlayerKbps, f.PlayerVideoFrames = dist(kbps), dist(video)
	return f
}

func dist(v []float64) Dist {
	if len(v) == 0 {
		return Dist{}
	}
	s := slices.Sorted(slices.Values(v))
	return Dist{Min: round2(s[0]), Median: round2(median(s)), Max: round2(s[len(s)-1])}
}

// median of sorted values.
func median(s []float64) float64 {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// summary writes the headline figures for a human.
func (r *Report) summary(w io.Writer) {
	fmt.Fprintf(w, "rtmpload: %d players: %d connected (in %.1f s), %d failed, %d disconnected\n",
		r.Players, r.Connected, r.ConnectSeconds, r.Failed, r.Disconnected)
	win := r.Window
	fmt.Fprintf(w, "rtmpload: window %.1f s: %.1f Mbit/s, per player %.0f kbit/s (min %.0f, max %.0f), %d video frames dropped by %d players\n",
		win.Seconds, win.Mbps, win.PlayerKbps.Median, win.PlayerKbps.Min, win.PlayerKbps.Max, win.DroppedFrames, win.PlayersWithDrops)
	fmt.Fprintf(w, "rtmpload: delay beyond each player's best message: p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, max %.0f ms (%d messages)\n",
		r.Delay.P50, r.Delay.P90, r.Delay.P99, r.Delay.Max, r.Delay.Messages)
	if s := r.Server; s != nil {
		fmt.Fprintf(w, "rtmpload: server: %.2f%% of a core (%.4f%% per Mbit/s), %.1f KiB RSS and %.2f goroutines per player\n",
			s.CPUPercent, s.CPUPercentPerMbps, s.RSSPerPlayerKB, s.GoroutinesPerPlayer)
		if a := s.API; a != nil {
			fmt.Fprintf(w, "rtmpload: API send_30s: stream %.0f kbit/s (error %.2f%%), players' median %.0f kbit/s (worst error %.2f%%)\n",
				a.StreamSend30sKbps, a.StreamErrorPercent, a.ClientSend30sKbps.Median, a.ClientErrorPercentMax)
		}
	}
}
