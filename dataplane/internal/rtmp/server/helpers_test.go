package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"tidecast.dev/dataplane/internal/hub"
	"time"

	"tidecast.dev/dataplane/internal/media"
	"tidecast.dev/dataplane/internal/registry"
)

var _ Registry = (*registry.Registry)(nil)

type testServer struct {
	*Server
	reg  *registry.Registry
	addr string
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("RTMP_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startServer runs a server on a loopback port until the test ends.
func startServer(t testing.TB, st Settings) *testServer {
	t.Helper()
	return startServerWithHub(t, st, hub.Options{})
}

// startServerWithHub starts a server on a hub of its own, made with ho.
func startServerWithHub(t testing.TB, st Settings, ho hub.Options) *testServer {
	t.Helper()
	if st.Listen == nil {
		st.Listen = []string{"127.0.0.1:0"}
	}
	reg := registry.New(nil)
	h := hub.New(reg, ho)
	t.Cleanup(h.Close) // after the server's cleanup, which runs first
	s, err := New(st, h, reg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return &testServer{Server: s, reg: reg, addr: s.Addrs()[0].String()}
}

func (s *testServer) url(path string) string { return "rtmp://" + s.addr + "/" + path }

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
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

// process is a child process killed when the test ends.
type process struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	exited chan struct{}
	err    error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// start runs name with args; stdout, when wanted, is handed to onStdout
// line by line from the process's own reading goroutine.
func start(t testing.TB, onStdout func(line string), name string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(name, args...), stderr: &syncBuffer{}, exited: make(chan struct{})}
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

// waitExit waits for the process to exit.
func (p *process) waitExit(t testing.TB, within time.Duration) {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(within):
		t.Fatalf("%s did not exit within %v", p.cmd.Path, within)
	}
}

func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// ffmpegPublish publishes the toolbox's CBR test stream (640x360, 30 fps,
// GOP 60, AAC; made stereo, as lavfi's sine is mono) to url.
func ffmpegPublish(t testing.TB, url string, extra ...string) *process {
	args := []string{"-nostdin", "-loglevel", "warning", "-re",
		"-f", "lavfi", "-i", "testsrc=size=640x360:rate=30", "-f", "lavfi", "-i", "sine",
		"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", "60", "-pix_fmt", "yuv420p",
		"-b:v", "2500k", "-minrate", "2500k", "-maxrate", "2500k", "-bufsize", "2500k", "-x264-params", "nal-hrd=cbr",
		"-c:a", "aac", "-b:a", "128k", "-ac", "2"}
	args = append(args, extra...)
	args = append(args, "-f", "flv", url)
	return start(t, nil, "ffmpeg", args...)
}

// decoder is an ffmpeg player decoding video and audio, counting frames.
type decoder struct {
	*process
	started time.Time
	mu      sync.Mutex
	frames  [2]int // video, audio
	first   time.Time
}

// ffmpegPlay plays url and decodes both tracks (framecrc prints one line
// per decoded frame: stream 0 is video, 1 audio).
func ffmpegPlay(t testing.TB, url string, extra ...string) *decoder {
	d := &decoder{started: time.Now()}
	args := append([]string{"-nostdin", "-loglevel", "warning"}, extra...)
	args = append(args, "-i", url, "-map", "0:v:0", "-map", "0:a:0", "-flush_packets", "1", "-f", "framecrc", "-")
	d.process = start(t, d.line, "ffmpeg", args...)
	return d
}

func (d *decoder) line(s string) {
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

func (d *decoder) counts() (video, audio int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.frames[0], d.frames[1]
}

func (d *decoder) firstFrameAfter() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.first.IsZero() {
		return -1
	}
	return d.first.Sub(d.started)
}

// clientsOf lists the registry's clients of type typ.
func clientsOf(reg *registry.Registry, typ media.ClientType) []media.ClientInfo {
	var out []media.ClientInfo
	for _, c := range reg.Snapshot().Clients {
		if c.Type == typ {
			out = append(out, c)
		}
	}
	return out
}
