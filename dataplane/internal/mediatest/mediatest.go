// Package mediatest runs real media clients (ffmpeg, GStreamer) for the
// worker's integration tests: child processes the test's cleanup kills,
// and ffmpeg publishers and decoding players with frame counts.
package mediatest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"tidecast.dev/dataplane/internal/media"
	"tidecast.dev/dataplane/internal/registry"
)

// Eventually polls cond until it holds or the deadline passes.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		<-tick.C
	}
}

// Process is a child process killed when the test ends.
type Process struct {
	cmd    *exec.Cmd
	stderr *SyncBuffer
	exited chan struct{}
	err    error
}

// SyncBuffer is a bytes.Buffer safe for a writer and a reader.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Start runs name with args; stdout, when wanted, is handed to onStdout
// line by line from the process's own reading goroutine.
func Start(t testing.TB, onStdout func(line string), name string, args ...string) *Process {
	t.Helper()
	p := &Process{cmd: exec.Command(name, args...), stderr: &SyncBuffer{}, exited: make(chan struct{})}
	p.cmd.Stderr = p.stderr
	var stdout io.ReadCloser
	if onStdout != nil {
		var err error
		if stdout, err = p.cmd.StdoutPipe(); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		if stdout != nil {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				onStdout(sc.Text())
			}
		}
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("%s %s stderr:\n%s", name, strings.Join(args, " "), tail(p.stderr.String(), 3000))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// WaitExit waits for the process to exit.
func (p *Process) WaitExit(t testing.TB, within time.Duration) {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(within):
		t.Fatalf("%s did not exit within %v", p.cmd.Path, within)
	}
}

// Err is how the process exited; valid once it has.
func (p *Process) Err() error {
	<-p.exited
	return p.err
}

// Running tells whether the process has not exited yet.
func (p *Process) Running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// FFmpegPublish publishes the toolbox's CBR test stream (640x360, 30 fps,
// GOP 60, AAC; made stereo, as lavfi's sine is mono) to url.
func FFmpegPublish(t testing.TB, url string, extra ...string) *Process {
	args := []string{"-nostdin", "-loglevel", "warning", "-re",
		"-f", "lavfi", "-i", "testsrc=size=640x360:rate=30", "-f", "lavfi", "-i", "sine",
		"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", "60", "-pix_fmt", "yuv420p",
		"-b:v", "2500k", "-minrate", "2500k", "-maxrate", "2500k", "-bufsize", "2500k", "-x264-params", "nal-hrd=cbr",
		"-c:a", "aac", "-b:a", "128k", "-ac", "2"}
	args = append(args, extra...)
	args = append(args, "-f", "flv", url)
	return Start(t, nil, "ffmpeg", args...)
}

// Decoder is an ffmpeg player decoding video and audio, counting frames.
type Decoder struct {
	*Process
	started time.Time
	mu      sync.Mutex
	frames  [2]int // video, audio
	first   time.Time
}

// FFmpegPlay plays url and decodes both tracks (framecrc prints one line
// per decoded frame: stream 0 is video, 1 audio).
func FFmpegPlay(t testing.TB, url string, extra ...string) *Decoder {
	d := &Decoder{started: time.Now()}
	args := append([]string{"-nostdin", "-loglevel", "warning"}, extra...)
	args = append(args, "-i", url, "-map", "0:v:0", "-map", "0:a:0", "-flush_packets", "1", "-f", "framecrc", "-")
	d.Process = Start(t, d.line, "ffmpeg", args...)
	return d
}

func (d *Decoder) line(s string) {
	if s == "" || s[0] == '#' {
		return
	}
	var idx int
	if _, err := fmt.Sscanf(s, "%d,", &idx); err != nil || idx < 0 || idx > 1 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.first.IsZero() {
		d.first = time.Now()
	}
	d.frames[idx]++
}

func (d *Decoder) Counts() (video, audio int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.frames[0], d.frames[1]
}

func (d *Decoder) FirstFrameAfter() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.first.IsZero() {
		return -1
	}
	return d.first.Sub(d.started)
}

// ClientsOf lists the registry's clients of type typ.
func ClientsOf(reg *registry.Registry, typ media.ClientType) []media.ClientInfo {
	var out []media.ClientInfo
	for _, c := range reg.Snapshot().Clients {
		if c.Type == typ {
			out = append(out, c)
		}
	}
	return out
}
