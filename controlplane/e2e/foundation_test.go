package e2e

import (
	"net"
	"slices"
	"testing"
	"time"
)

type versionsDoc struct {
	Code int `json:"code"`
	Data struct {
		Major   int    `json:"major"`
		Version string `json:"version"`
	} `json:"data"`
}

type workersDoc struct {
	Code    int `json:"code"`
	Workers []struct {
		Node         string `json:"id"`
		Boot         string `json:"boot"`
		Connected    bool   `json:"connected"`
		ClientsTotal int    `json:"clients_total"`
	} `json:"workers"`
}

func listedWorkers(t *testing.T, api string) []string {
	var doc workersDoc
	if err := getJSON(t, api, "/api/v1/workers/", &doc); err != nil || doc.Code != 0 {
		return nil
	}
	var nodes []string
	for _, w := range doc.Workers {
		if w.Connected {
			nodes = append(nodes, w.Node)
		}
	}
	return nodes
}

func TestAControlPlaneAndAWorkerComeUpAndSeeEachOther(t *testing.T) {
	cp := startControlPlane(t, confWith(""))
	startDataPlane(t, "worker-1", cp.fleet)
	var v versionsDoc
	if err := getJSON(t, cp.api, "/api/v1/versions", &v); err != nil || v.Code != 0 || v.Data.Major == 0 {
		t.Fatalf("versions = %+v, %v; want code 0 and a version", v, err)
	}
	eventually(t, 5*time.Second, "worker listed", func() bool {
		return slices.Equal(listedWorkers(t, cp.api), []string{"worker-1"})
	})
}

func TestAWorkerIsListedAgainSoonAfterTheControlPlaneRestarts(t *testing.T) {
	cp := startControlPlane(t, confWith(""))
	startDataPlane(t, "worker-1", cp.fleet)
	eventually(t, 5*time.Second, "worker listed", func() bool { return len(listedWorkers(t, cp.api)) == 1 })

	cp.stop()
	restarted := startControlPlane(t, confWith(cp.fleet))
	took := eventually(t, 2*time.Second, "worker listed after the restart", func() bool {
		return slices.Equal(listedWorkers(t, restarted.api), []string{"worker-1"})
	})
	t.Logf("worker listed %v after the restarted control plane's API came up", took)
}

func TestAWorkerGivenTwoControlPlanesIsListedByBoth(t *testing.T) {
	a := startControlPlane(t, confWith(""))
	b := startControlPlane(t, confWith(""))
	startDataPlane(t, "worker-1", a.fleet, b.fleet)
	for _, cp := range []*controlPlane{a, b} {
		eventually(t, 5*time.Second, "worker listed on "+cp.api, func() bool {
			return slices.Equal(listedWorkers(t, cp.api), []string{"worker-1"})
		})
	}
}

func TestAWorkerWithAWrongTokenIsRefused(t *testing.T) {
	cp := startControlPlane(t, confWith(""))
	_, bin := binaries(t)
	w := start(t, "dataplane intruder", bin, "-node-id", "intruder", "-control-plane", cp.fleet, "-token", "wrong", "-rtmp-listen", "127.0.0.1:0")
	w.waitLog(regexpUnauthenticated, 5*time.Second)
	if nodes := listedWorkers(t, cp.api); len(nodes) != 0 {
		t.Fatalf("workers = %v, want none", nodes)
	}
}

func TestTheControlPlaneStopsPromptlyWithAWorkerAndAConnectionThatSentNothing(t *testing.T) {
	cp := startControlPlane(t, confWith(""))
	startDataPlane(t, "worker-1", cp.fleet)
	eventually(t, 5*time.Second, "worker listed", func() bool { return len(listedWorkers(t, cp.api)) == 1 })
	silent, err := net.Dial("tcp", cp.api)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	start := time.Now()
	cp.stop()
	if took := time.Since(start); took > 4*time.Second {
		t.Fatalf("stopped %v after SIGTERM, want within 4 s", took)
	}
}
