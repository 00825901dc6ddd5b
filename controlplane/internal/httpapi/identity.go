package httpapi

import (
	"crypto/sha256"
	"os"
	"strconv"
)

// Identity is the envelope that starts every successful answer (§2.4):
// {"code":0,"server":S,"service":V,"pid":"P",...}. In a cluster of
// replicas behind one address (see the package documentation):
type Identity struct {
	// Server names the cluster: server_id, the same on every replica and
	// across restarts.
	Server string
	// Service names the deployment rather than a process. SRS draws it
	// anew at each start, and its console takes a changed service for a
	// restarted server; derived from Server (ServiceID), it stays the same
	// whichever replica answers.
	Service string
	// PID is the answering replica's process id; it may differ from one
	// request to the next.
	PID int
}

// ClusterIdentity is the identity of this process as a replica of the
// cluster serverID.
func ClusterIdentity(serverID string) Identity {
	return Identity{Server: serverID, Service: ServiceID(serverID), PID: os.Getpid()}
}

// ServiceID derives the service id from the server id: 8 characters of
// [0-9a-z], like SRS's random ones, but the same on every replica.
func ServiceID(serverID string) string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	sum := sha256.Sum256([]byte("service:" + serverID))
	var b [8]byte
	for i := range b {
		b[i] = alphabet[int(sum[i])%len(alphabet)]
	}
	return string(b[:])
}

// appendEnvelope opens a document with the envelope; the caller adds the
// payload and closes it.
func appendEnvelope(j *jsonw, id Identity) {
	j.open()
	j.int("code", 0)
	j.str("server", id.Server)
	j.str("service", id.Service)
	j.key("pid")
	j.comma()
	j.b = append(j.b, '"')
	j.b = strconv.AppendInt(j.b, int64(id.PID), 10)
	j.b = append(j.b, '"')
}
