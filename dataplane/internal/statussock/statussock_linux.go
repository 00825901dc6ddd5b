package statussock

import (
	"crypto/sha256"
	"encoding/hex"
)

// socketName is the worker's abstract socket name: a leading NUL, which Go
// writes as "@". The node id makes it unique in the network namespace; one
// too long for a socket address (108 bytes) is replaced by its hash.
func socketName(nodeID string) (string, error) {
	const prefix, maxLen = "@tidecast-dataplane/", 108
	if len(prefix)+len(nodeID) > maxLen {
		sum := sha256.Sum256([]byte(nodeID))
		nodeID = "sha256:" + hex.EncodeToString(sum[:])
	}
	return prefix + nodeID, nil
}
