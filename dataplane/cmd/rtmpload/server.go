package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux ABI Go supports.
const clockTicks = 100

// ServerFigures are the server's costs over the window (-watch-pid) and
// what its API says (-api).
type ServerFigures struct {
	PID int `json:"pid,omitempty"`
	// CPUPercent is the watched process's CPU (user + system) over the
	// window, in % of one core; per Mbit/s of the players' egress.
	CPUPercent        float64 `json:"cpu_percent"`
	CPUPercentPerMbps float64 `json:"cpu_percent_per_mbps"`
	// RSS before the players connected and at the window's end.
	RSSBeforeKB    uint64  `json:"rss_kb_before"`
	RSSKB          uint64  `json:"rss_kb"`
	RSSPerPlayerKB float64 `json:"rss_kb_per_player"`
	// Goroutines of the worker, from the API's proc_goroutines.
	GoroutinesBefore    int         `json:"goroutines_before"`
	Goroutines          int         `json:"goroutines"`
	GoroutinesPerPlayer float64     `json:"goroutines_per_player"`
	API                 *APIFigures `json:"api,omitempty"`
	Errors              []string    `json:"errors,omitempty"`
}

// APIFigures compare the API's send_30s at the window's end with what the
// players received over the window (which should then be 30 s long).
// Players and clients cannot be matched by id, so the sorted lists are
// compared pairwise.
type APIFigures struct {
	StreamSend30sKbps     float64 `json:"stream_send_30s_kbps"`
	StreamMeasuredKbps    float64 `json:"stream_measured_kbps"`
	StreamErrorPercent    float64 `json:"stream_error_percent"`
	Clients               int     `json:"clients"`
	ClientSend30sKbps     Dist    `json:"client_send_30s_kbps"`
	ClientErrorPercentMed float64 `json:"client_error_percent_median"`
	ClientErrorPercentMax float64 `json:"client_error_percent_max"`
}

// serverSample is the server at one instant.
type serverSample struct {
	at         time.Time
	ticks      uint64
	rssKB      uint64
	goroutines int
	// streamSend and clientSend are send_30s in kbit/s.
	streamSend float64
	clientSend []float64
	errs       []string
}

func sampleServer(ctx context.Context, cfg *loadConfig) serverSample {
	s := serverSample{at: time.Now()}
	if cfg.watchPID != 0 {
		var err error
		if s.ticks, err = procTicks(cfg.watchPID); err == nil {
			s.rssKB, err = procRSS(cfg.watchPID)
		}
		if err != nil {
			s.errs = append(s.errs, err.Error())
		}
	}
	if cfg.api != "" {
		if err := s.fetchAPI(ctx, cfg); err != nil {
			s.errs = append(s.errs, err.Error())
		}
	}
	return s
}

// procTicks returns utime + stime of pid, in clock ticks.
func procTicks(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which may hold spaces and ')':
	// state is the first, utime and stime the 12th and 13th.
	rest := string(b[strings.LastIndex(string(b), ") ")+1:])
	if f := strings.Fields(rest); len(f) >= 13 {
		u, err1 := strconv.ParseUint(f[11], 10, 64)
		s, err2 := strconv.ParseUint(f[12], 10, 64)
		if err1 == nil && err2 == nil {
			return u + s, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
}

// procRSS returns VmRSS of pid in KiB.
func procRSS(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
}

type apiKbps struct {
	Send30s float64 `json:"send_30s"`
}

// fetchAPI reads the worker's goroutines and the stream's and its players'
// send_30s.
func (s *serverSample) fetchAPI(ctx context.Context, cfg *loadConfig) error {
	var workers struct {
		Workers []struct {
			PID   int `json:"pid"`
			Stats struct {
				Goroutines int `json:"proc_goroutines"`
			} `json:"stats"`
		} `json:"workers"`
	}
	if err := getJSON(ctx, cfg.api+"/api/v1/workers/", &workers); err != nil {
		return err
	}
	for i, w := range workers.Workers {
		if i == 0 || w.PID == cfg.watchPID {
			s.goroutines = w.Stats.Goroutines
		}
	}
	var streams struct {
		Streams []struct {
			URL  string  `json:"url"`
			Kbps apiKbps `json:"kbps"`
		} `json:"streams"`
	}
	if err := getJSON(ctx, cfg.api+"/api/v1/streams/?count=10000", &streams); err != nil {
		return err
	}
	for _, st := range streams.Streams {
		if st.URL == cfg.path {
			s.streamSend = st.Kbps.Send30s
		}
	}
	var clients struct {
		Clients []struct {
			URL  string  `json:"url"`
			Type string  `json:"type"`
			Kbps apiKbps `json:"kbps"`
		} `json:"clients"`
	}
	if err := getJSON(ctx, fmt.Sprintf("%s/api/v1/clients/?count=%d", cfg.api, cfg.players+1000), &clients); err != nil {
		return err
	}
	for _, c := range clients.Clients {
		if c.URL == cfg.path && c.Type == "rtmp-play" {
			s.clientSend = append(s.clientSend, c.Kbps.Send30s)
		}
	}
	return nil
}

func getJSON(ctx context.Context, url string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}

func serverFigures(cfg *loadConfig, zero, from, to serverSample, r *Report) *ServerFigures {
	if cfg.watchPID == 0 && cfg.api == "" {
		return nil
	}
	s := &ServerFigures{PID: cfg.watchPID}
	for _, smp := range []serverSample{zero, from, to} {
		s.Errors = append(s.Errors, smp.errs...)
	}
	players := float64(max(r.Connected, 1))
	if cfg.watchPID != 0 {
		if secs := to.at.Sub(from.at).Seconds(); secs > 0 {
			s.CPUPercent = round4(float64(to.ticks-from.ticks) / clockTicks / secs * 100)
		}
		if r.Window.Mbps > 0 {
			s.CPUPercentPerMbps = round4(s.CPUPercent / r.Window.Mbps)
		}
		s.RSSBeforeKB, s.RSSKB = zero.rssKB, to.rssKB
		s.RSSPerPlayerKB = round2((float64(to.rssKB) - float64(zero.rssKB)) / players)
	}
	if cfg.api == "" {
		return s
	}
	s.GoroutinesBefore, s.Goroutines = zero.goroutines, to.goroutines
	s.GoroutinesPerPlayer = round2(float64(to.goroutines-zero.goroutines) / players)

	var measured []float64
	var total float64
	for _, p := range r.PerPlayer {
		if p.State != stateNames[failed] {
			measured = append(measured, p.WindowKbps)
			total += p.WindowKbps
		}
	}
	a := &APIFigures{
		StreamSend30sKbps:  to.streamSend,
		StreamMeasuredKbps: round2(total),
		StreamErrorPercent: errorPercent(to.streamSend, total),
		Clients:            len(to.clientSend),
		ClientSend30sKbps:  dist(to.clientSend),
	}
	api := slices.Sorted(slices.Values(to.clientSend))
	slices.Sort(measured)
	var errs []float64
	for i := range min(len(api), len(measured)) {
		errs = append(errs, errorPercent(api[i], measured[i]))
	}
	if len(errs) > 0 {
		slices.Sort(errs)
		a.ClientErrorPercentMed, a.ClientErrorPercentMax = round2(median(errs)), errs[len(errs)-1]
	}
	s.API = a
	return s
}

// errorPercent is |reported - measured| in % of measured.
func errorPercent(reported, measured float64) float64 {
	if measured == 0 {
		return 0
	}
	return round2(math.Abs(reported-measured) / measured * 100)
}

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }
