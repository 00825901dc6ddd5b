// Package e2e runs the real binaries of both planes, and real clients
// against them, on loopback ports the processes pick themselves.
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds both commands once per test run.
func binaries(t *testing.T) (controlplane, dataplane string) {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "tidecast-e2e-bin")
		if buildErr != nil {
			return
		}
		for _, b := range []struct{ module, pkg, out string }{
			{"..", "./cmd/controlplane", "controlplane"},
			{"../../dataplane", "./cmd/dataplane", "dataplane"},
		} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, b.out), b.pkg)
			cmd.Dir = b.module
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("building %s: %w\n%s", b.out, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "controlplane"), filepath.Join(binDir, "dataplane")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// proc is a running binary whose log lines the test can wait for.
type proc struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	done chan struct{}

	mu    sync.Mutex
	lines []string
	grew  chan struct{}
}

func start(t *testing.T, name, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, cmd: exec.Command(bin, args...), done: make(chan struct{}), grew: make(chan struct{}, 1)}
	// stdout and stderr are read as one stream of lines.
	out, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	go func() {
		defer close(p.done)
		defer out.Close()
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			select {
			case p.grew <- struct{}{}:
			default:
			}
		}
		_ = p.cmd.Wait()
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			p.mu.Lock()
			t.Logf("%s log:\n%s", name, strings.Join(p.lines, "\n"))
			p.mu.Unlock()
		}
	})
	return p
}

// stop asks the process to shut down and waits for it.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.t.Errorf("%s did not stop within 10 s of SIGTERM", p.name)
		p.kill()
	}
}

func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// waitLog waits for a log line matching re and returns its first group.
func (p *proc) waitLog(re *regexp.Regexp, within time.Duration) string {
	p.t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	seen := 0
	for {
		p.mu.Lock()
		lines := p.lines[seen:]
		seen = len(p.lines)
		p.mu.Unlock()
		for _, l := range lines {
			if m := re.FindStringSubmatch(l); m != nil {
				return m[1]
			}
		}
		select {
		case <-p.grew:
		case <-p.done:
			p.t.Fatalf("%s exited while waiting for %q", p.name, re)
		case <-deadline.C:
			p.t.Fatalf("%s: no log line %q within %v", p.name, re, within)
		}
	}
}

// countLog counts the log lines matching re so far.
func (p *proc) countLog(re *regexp.Regexp) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.lines {
		if re.MatchString(l) {
			n++
		}
	}
	return n
}

var (
	apiListening          = regexp.MustCompile(`msg="http api listening" addr=(\S+)`)
	fleetListening        = regexp.MustCompile(`msg="fleet endpoint listening" addr=(\S+)`)
	rtmpListening         = regexp.MustCompile(`msg=listening component=rtmp addr=(\S+)`)
	regexpUnauthenticated = regexp.MustCompile(`(Unauthenticated)`)
	regexpSessionEnded    = regexp.MustCompile(`msg="(control-plane session ended)"`)
	regexpAppliedConfig   = regexp.MustCompile(`msg="(applied control-plane config)"`)
)

// controlPlane is a running control plane and its addresses.
type controlPlane struct {
	*proc
	api, fleet string
}

// startControlPlane runs a control plane with conf, whose listen
// addresses may use port 0.
func startControlPlane(t *testing.T, conf string) *controlPlane {
	t.Helper()
	bin, _ := binaries(t)
	file := filepath.Join(t.TempDir(), "srs.conf")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, "controlplane", bin, "-c", file)
	cp := &controlPlane{proc: p}
	cp.fleet = p.waitLog(fleetListening, 10*time.Second)
	cp.api = p.waitLog(apiListening, 10*time.Second)
	return cp
}

// confWith is a control-plane config listening on loopback; fleetListen
// may pin the fleet port (for a restart), else it is picked at random.
func confWith(fleetListen string) string {
	if fleetListen == "" {
		fleetListen = "127.0.0.1:0"
	}
	return fmt.Sprintf(`listen 127.0.0.1:0;
daemon off;
srs_log_tank console;
server_id vid-e2etest;
http_api { enabled on; listen 127.0.0.1:0; }
fleet { listen %s; token e2e-token; }
vhost __defaultVhost__ { }
`, fleetListen)
}

// startDataPlane runs a worker dialling the given control planes.
func startDataPlane(t *testing.T, node string, controlPlanes ...string) *proc {
	t.Helper()
	_, bin := binaries(t)
	return start(t, "dataplane "+node, bin,
		"-node-id", node,
		"-control-plane", strings.Join(controlPlanes, ","),
		"-token", "e2e-token",
		"-rtmp-listen", "127.0.0.1:0",
	)
}

// getJSON fetches an API path and decodes the body.
func getJSON(t *testing.T, api, path string, out any) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+api+path, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, res.Status)
	}
	return json.NewDecoder(res.Body).Decode(out)
}

// eventually polls cond every 10 ms until it holds or within passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %v", what, within)
		}
		<-tick.C
	}
	return time.Since(start)
}
