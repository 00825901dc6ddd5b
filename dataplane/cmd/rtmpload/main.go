// Command rtmpload is the RTMP load generator of the benchmarks.
//
// By default it runs -players RTMP players in this one process against
// -url (rtmp://host:port/app/stream), and -flv-players HTTP-FLV players
// against -flv-url (http://host:port/app/stream.flv), connecting them
// -connect-interval
// apart, lets them play for -duration and writes a JSON report to stdout
// (a short summary goes to stderr): players connected and disconnected,
// bytes and audio/video frames per player and in total, egress in 1 s and
// 5 s buckets, and frames dropped (video timestamp gaps larger than the
// frame interval of -fps). Figures of the "window" leave out the first
// -warmup of the run. With -watch-pid it also reports that process's CPU
// and RSS over the window, and with -api (an SRS-compatible HTTP API) the
// worker's goroutines and the send_30s rates the API shows next to what
// the players really received. It exits with status 1 when a player could
// not connect or was disconnected before the end.
//
// With -publish file.flv it publishes the file instead, paced by its
// timestamps and looped with continuous timestamps, until -duration
// passes (0: until interrupted). Nothing is encoded at run time. With
// -reference addr as well, it serves the file to players itself as the
// benchmark's reference server: the least a server can do (see
// reference.go).
//
// Each player is one goroutine with its own reused buffers.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "rtmpload:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rtmpload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg loadConfig
	fs.StringVar(&cfg.url, "url", "", "stream URL rtmp://host:port/app/stream (required)")
	fs.IntVar(&cfg.players, "players", 1, "RTMP players to run")
	fs.StringVar(&cfg.flvURL, "flv-url", "", "HTTP-FLV URL http://host:port/app/stream.flv of the -flv-players")
	fs.IntVar(&cfg.flvPlayers, "flv-players", 0, "HTTP-FLV players to run as well")
	fs.DurationVar(&cfg.interval, "connect-interval", 5*time.Millisecond, "time between two players' connects")
	fs.DurationVar(&cfg.connectTimeout, "connect-timeout", 10*time.Second, "bound on one player's connect and play")
	fs.DurationVar(&cfg.duration, "duration", 30*time.Second, "how long to play once every player is connected (with -publish: how long to publish or serve, 0 until interrupted)")
	fs.DurationVar(&cfg.warmup, "warmup", 5*time.Second, "start of the run left out of the window figures")
	fs.Float64Var(&cfg.fps, "fps", 30, "the stream's video frame rate, to tell a dropped frame from a frame interval")
	fs.IntVar(&cfg.watchPID, "watch-pid", 0, "report this process's CPU and RSS over the window (from /proc)")
	fs.StringVar(&cfg.api, "api", "", "base URL of the server's SRS-compatible HTTP API, e.g. http://127.0.0.1:1985")
	publish := fs.String("publish", "", "publish this FLV file in real time instead of playing")
	reference := fs.String("reference", "", "serve -publish's file on this address as the benchmark's reference server, instead of publishing it")
	mw := fs.Duration("mw", 0, "the reference server's merged-write latency: a batch is written once it spans more media time (0: once a later message follows, when one comes within -soon; below 0: every message at once)")
	soon := fs.Duration("soon", 12*time.Millisecond, "with -mw 0, how soon a later message must come for the reference server's message to wait for it (the data plane's realtimeSoon)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *reference != "" {
		if *publish == "" {
			return errors.New("-reference needs -publish")
		}
		if cfg.duration > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, cfg.duration)
			defer cancel()
		}
		return runReference(ctx, *reference, *publish, *mw, *soon, stderr)
	}
	u, err := url.Parse(cfg.url)
	if err != nil || u.Scheme != "rtmp" {
		return fmt.Errorf("-url %q: want rtmp://host:port/app/stream", cfg.url)
	}
	_, cfg.name, _ = strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if cfg.name == "" {
		return fmt.Errorf("-url %q: no stream name", cfg.url)
	}
	cfg.path, cfg.rtmpURL = u.Path, u
	if cfg.flvPlayers > 0 {
		if cfg.flvParsed, err = url.Parse(cfg.flvURL); err != nil || cfg.flvParsed.Scheme != "http" {
			return fmt.Errorf("-flv-url %q: want http://host:port/app/stream.flv", cfg.flvURL)
		}
	}

	if *publish != "" {
		rep, err := runPublish(ctx, cfg, *publish)
		if rep != nil {
			if werr := writeJSON(stdout, rep); werr != nil {
				return werr
			}
			fmt.Fprintf(stderr, "rtmpload: published %d video and %d audio frames (%d loops) in %.1f s\n",
				rep.VideoFrames, rep.AudioFrames, rep.Loops, rep.Seconds)
		}
		return err
	}
	switch {
	case cfg.players < 0 || cfg.flvPlayers < 0 || cfg.players+cfg.flvPlayers < 1:
		return errors.New("want at least one player (-players, -flv-players)")
	case cfg.duration <= 0 || cfg.warmup < 0 || cfg.warmup >= cfg.duration:
		return errors.New("want 0 <= -warmup < -duration")
	case cfg.fps <= 0:
		return errors.New("-fps must be positive")
	}
	rep := runPlayers(ctx, cfg)
	if err := writeJSON(stdout, rep); err != nil {
		return err
	}
	rep.summary(stderr)
	if rep.Failed > 0 || rep.Disconnected > 0 {
		return fmt.Errorf("%d players failed to connect, %d were disconnected", rep.Failed, rep.Disconnected)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
