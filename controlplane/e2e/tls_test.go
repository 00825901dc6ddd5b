package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"tidecast.dev/controlplane/internal/testpki"
)

func TestWorkersCanBeRequiredToPresentAClientCertificate(t *testing.T) {
	ca := testpki.NewCA(t, t.TempDir())
	server, client := ca.Server(t, "controlplane"), ca.Client(t, "worker")
	conf := strings.Replace(confWith(""), "token e2e-token;",
		"token e2e-token; tls { enabled on; cert "+server.Cert+"; key "+server.Key+"; client_ca "+ca.File+"; }", 1)
	cp := startControlPlane(t, conf)
	_, bin := binaries(t)
	start(t, "dataplane with certificate", bin, "-node-id", "trusted", "-control-plane", cp.fleet, "-token", "e2e-token",
		"-rtmp-listen", "127.0.0.1:0", "-tls-ca", ca.File, "-tls-cert", client.Cert, "-tls-key", client.Key)
	without := start(t, "dataplane without certificate", bin, "-node-id", "untrusted", "-control-plane", cp.fleet, "-token", "e2e-token",
		"-rtmp-listen", "127.0.0.1:0", "-tls-ca", ca.File)
	eventually(t, 5*time.Second, "the worker with a certificate listed", func() bool {
		return slices.Equal(listedWorkers(t, cp.api), []string{"trusted"})
	})
	without.waitLog(regexpSessionEnded, 5*time.Second)
	if nodes := listedWorkers(t, cp.api); !slices.Equal(nodes, []string{"trusted"}) {
		t.Fatalf("workers = %v, want only the one with a certificate", nodes)
	}
}
