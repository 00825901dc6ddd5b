package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"tidecast.dev/dataplane/internal/rtmp/chunk"
	"tidecast.dev/dataplane/internal/rtmp/client"
)

// PublishReport is the JSON a publish run writes.
type PublishReport struct {
	URL         string  `json:"url"`
	File        string  `json:"file"`
	Seconds     float64 `json:"seconds"`
	Loops       int     `json:"loops"`
	VideoFrames uint64  `json:"video_frames"`
	AudioFrames uint64  `json:"audio_frames"`
	Bytes       uint64  `json:"bytes"`
	Mbps        float64 `json:"mbps"`
}

// runPublish publishes the file's tags when their timestamps fall due,
// looping (see play).
func runPublish(ctx context.Context, cfg loadConfig, file string) (*PublishReport, error) {
	tags, err := readFLVFile(file)
	if err != nil {
		return nil, err
	}
	if cfg.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.duration)
		defer cancel()
	}

	dctx, cancel := context.WithTimeout(ctx, cfg.connectTimeout)
	c, err := client.Dial(dctx, cfg.url)
	if err == nil {
		if err = c.Publish(dctx, cfg.name); err != nil {
			c.Close()
		}
	}
	cancel()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	// Read what the server sends (pings, acknowledgements) so that a lost
	// connection ends the run.
	lost := make(chan error, 1)
	go func() {
		for {
			if _, err := c.ReadMessage(); err != nil {
				lost <- err
				return
			}
		}
	}()

	rep := &PublishReport{URL: cfg.url, File: file}
	start := time.Now()
	err = play(ctx, tags, func(t tag, ts uint32, loop int, _ time.Duration) error {
		select {
		case err := <-lost:
			return fmt.Errorf("connection lost: %w", err)
		default:
		}
		if err := c.WriteMessage(t.typ, ts, t.body); err != nil {
			return err
		}
		rep.Loops, rep.Bytes = loop, rep.Bytes+uint64(len(t.body))
		switch {
		case t.header():
		case t.typ == chunk.TypeVideo:
			rep.VideoFrames++
		case t.typ == chunk.TypeAudio:
			rep.AudioFrames++
		}
		return nil
	})
	d := time.Since(start)
	rep.Seconds, rep.Mbps = round2(d.Seconds()), round2(mbps(rep.Bytes, d))
	return rep, err
}

func readFLVFile(file string) ([]tag, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tags, err := readFLV(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if _, _, err := loopSpan(tags); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return tags, nil
}

// play calls send with each tag and its timestamp when that falls due, in
// real time, until ctx ends (nil) or send fails. It loops: each loop
// shifts the timestamps by the file's length, measured on its video
// frames, so the frame interval holds across the seam; the metadata and
// sequence headers go once. send learns how many loops were completed.
func play(ctx context.Context, tags []tag, send func(t tag, ts uint32, loops int, untilNext time.Duration) error) error {
	span, base, err := loopSpan(tags)
	if err != nil {
		return err
	}
	start := time.Now()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	// at is a tag's timestamp in loop; the next tag of the last one is
	// the next loop's first media tag.
	at := func(i int, loop int64) int64 {
		if i == len(tags) {
			i, loop = 0, loop+1
			for i < len(tags)-1 && tags[i].header() {
				i++
			}
		}
		return max(int64(tags[i].ts)-base, 0) + loop*span
	}
	for loop := int64(0); ; loop++ {
		for i, t := range tags {
			if ctx.Err() != nil {
				return nil
			}
			if loop > 0 && t.header() {
				continue
			}
			ts := at(i, loop)
			if wait := time.Until(start.Add(time.Duration(ts) * time.Millisecond)); wait > 0 {
				timer.Reset(wait)
				select {
				case <-ctx.Done():
					return nil
				case <-timer.C:
				}
			}
			if err := send(t, uint32(ts), int(loop), time.Duration(at(i+1, loop)-ts)*time.Millisecond); err != nil {
				return err
			}
		}
	}
}

// loopSpan returns how far each loop shifts timestamps (from the first
// video frame to one interval after the last; the same of the audio
// without video) and the file's first timestamp.
func loopSpan(tags []tag) (span, base int64, err error) {
	if len(tags) == 0 {
		return 0, 0, errors.New("no tags")
	}
	base = math.MaxInt64
	for _, t := range tags {
		base = min(base, int64(t.ts))
	}
	for _, typ := range []uint8{chunk.TypeVideo, chunk.TypeAudio} {
		var first, last, n int64
		for _, t := range tags {
			if t.typ != typ || t.header() {
				continue
			}
			if n == 0 {
				first = int64(t.ts)
			}
			last, n = int64(t.ts), n+1
		}
		if n >= 2 {
			step := math.Round(float64(last-first) / float64(n-1))
			return last - first + int64(step), base, nil
		}
	}
	return 0, 0, errors.New("fewer than two audio or video frames")
}
