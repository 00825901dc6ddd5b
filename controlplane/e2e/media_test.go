package e2e

import (
	"regexp"
	"strconv"
	"testing"
	"time"
)

// rtmpAddr waits for a worker's RTMP listener and returns its address.
func rtmpAddr(t *testing.T, worker *proc) string {
	t.Helper()
	return worker.waitLog(rtmpListening, 10*time.Second)
}

// startPublisher publishes a 640x360 H.264 + AAC test stream at about
// 1 Mbit/s until the test ends.
func startPublisher(t *testing.T, url string) *proc {
	t.Helper()
	return start(t, "ffmpeg publisher", "ffmpeg", "-nostdin", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc=size=640x360:rate=30", "-f", "lavfi", "-i", "sine",
		"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p",
		"-b:v", "1000k", "-minrate", "1000k", "-maxrate", "1000k", "-bufsize", "1000k", "-x264-params", "nal-hrd=cbr",
		"-c:a", "aac", "-b:a", "64k", "-f", "flv", url)
}

var progressFrame = regexp.MustCompile(`^frame=(\d+)$`)

// player is an ffmpeg player that decodes what it receives and reports
// its progress.
type player struct{ *proc }

func startPlayer(t *testing.T, url string) *player {
	t.Helper()
	return &player{start(t, "ffmpeg player", "ffmpeg", "-nostdin", "-loglevel", "error",
		"-rw_timeout", "10000000", "-i", url, "-f", "null", "-progress", "pipe:1", "-stats_period", "0.1", "-")}
}

// frames is how many video frames the player has decoded so far.
func (p *player) frames() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.lines) - 1; i >= 0; i-- {
		if m := progressFrame.FindStringSubmatch(p.lines[i]); m != nil {
			n, _ := strconv.Atoi(m[1])
			return n
		}
	}
	return 0
}

// exited reports whether the player process has ended.
func (p *player) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitFrames waits until the player has decoded at least n frames.
func (p *player) waitFrames(t *testing.T, n int, within time.Duration) {
	t.Helper()
	eventually(t, within, "player decoding "+strconv.Itoa(n)+" frames", func() bool {
		if p.exited() {
			t.Fatalf("player exited after %d frames", p.frames())
		}
		return p.frames() >= n
	})
}
