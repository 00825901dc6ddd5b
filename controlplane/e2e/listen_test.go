package e2e

import (
	"net"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestChangingTheRTMPListenKeepsPlayersAndOpensTheNewPort(t *testing.T) {
	cp := startControlPlane(t, confWith(""))
	file := cp.cmd.Args[2]
	w := startDataPlane(t, "worker-1", cp.fleet)
	oldAddr := rtmpAddr(t, w)
	startPublisher(t, "rtmp://"+oldAddr+"/live/move")
	watching := startPlayer(t, "rtmp://"+oldAddr+"/live/move")
	watching.waitFrames(t, 30, 20*time.Second)

	// A port free now, for the new listen directive.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	newAddr := l.Addr().String()
	l.Close()
	conf, _ := os.ReadFile(file)
	if err := os.WriteFile(file, []byte(strings.Replace(string(conf), "listen 127.0.0.1:0;", "listen "+newAddr+";", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = cp.cmd.Process.Signal(syscall.SIGHUP)
	w.waitLog(regexp.MustCompile(`msg=listening component=rtmp addr=(`+regexp.QuoteMeta(newAddr)+`)`), 10*time.Second)

	newcomer := startPlayer(t, "rtmp://"+newAddr+"/live/move")
	newcomer.waitFrames(t, 10, 20*time.Second)
	n := watching.frames()
	watching.waitFrames(t, n+30, 10*time.Second) // the old connection survived
	eventually(t, 5*time.Second, "the worker advertising its new address", func() bool {
		var doc struct {
			Workers []struct {
				RTMP []string `json:"rtmp"`
			} `json:"workers"`
		}
		return getJSON(t, cp.api, "/api/v1/workers/", &doc) == nil && len(doc.Workers) == 1 &&
			len(doc.Workers[0].RTMP) == 1 && doc.Workers[0].RTMP[0] == newAddr
	})
}
