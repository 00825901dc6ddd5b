// Package handshake implements the RTMP handshake, both the simple form
// (random bytes echoed back) and the "complex" digest form Flash Player
// introduced, which players such as ffmpeg verify: when S1's version field
// is non-zero ffmpeg checks S1's digest and S2's signature, so a server
// either answers plainly or computes both correctly.
//
// The digest form hides a 32-byte HMAC-SHA256 digest in C1/S1 at an offset
// derived from the packet itself, in one of two layouts ("schemas"):
//
//	schema 0: time(4) version(4) key block(764) digest block(764)
//	schema 1: time(4) version(4) digest block(764) key block(764)
//
// A digest block starts with 4 bytes whose sum modulo 728 gives the
// digest's position after them. The digest covers the packet minus the
// digest, keyed with the first 30 (client) or 36 (server) bytes of the
// well-known Genuine FP/FMS keys. C2/S2 end with a 32-byte signature of
// their first 1504 bytes, keyed with HMAC(full key, peer's digest).
//
// Deadlines are the caller's: pass a net.Conn with them set.
package handshake

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
)

// Sizes of the handshake packets.
const (
	// PacketSize is the size of C1, C2, S1 and S2.
	PacketSize = 1536
	// Version is the only plain-RTMP version byte (C0/S0).
	Version = 3

	digestLen   = 32
	blockLen    = 764
	digestRange = blockLen - 4 - digestLen // 728
)

var keyTail = []byte{
	0xf0, 0xee, 0xc2, 0x4a, 0x80, 0x68, 0xbe, 0xe8, 0x2e, 0x00, 0xd0, 0xd1,
	0x02, 0x9e, 0x7e, 0x57, 0x6e, 0xec, 0x5d, 0x2d, 0x29, 0x80, 0x6f, 0xab,
	0x93, 0xb8, 0xe6, 0x36, 0xcf, 0xeb, 0x31, 0xae,
}

var (
	// genuineFMSKey signs what a server sends: its first 36 bytes key S1's
	// digest, all 68 key the S2 signature's HMAC key.
	genuineFMSKey = append([]byte("Genuine Adobe Flash Media Server 001"), keyTail...)
	// genuineFPKey signs what a client sends: 30 bytes for C1, 62 for C2.
	genuineFPKey = append([]byte("Genuine Adobe Flash Player 001"), keyTail...)
)

const (
	fmsKeyPrefix = 36
	fpKeyPrefix  = 30
)

// serverVersion is what S1 advertises; any non-zero value tells the client
// that S1 carries a digest.
var serverVersion = [4]byte{0x04, 0x05, 0x00, 0x01}

// clientVersion is Flash Player 9.0.124.2's, the version ffmpeg sends.
var clientVersion = [4]byte{0x09, 0x00, 0x7c, 0x02}

// Errors the handshake returns.
var (
	ErrVersion = errors.New("handshake: unsupported RTMP version")
	ErrDigest  = errors.New("handshake: digest mismatch")
)

// digestPos returns where the digest sits in a C1/S1 of the given schema.
func digestPos(p []byte, schema int) int {
	base := 8 // schema 1: the digest block comes first
	if schema == 0 {
		base = 8 + blockLen
	}
	sum := int(p[base]) + int(p[base+1]) + int(p[base+2]) + int(p[base+3])
	return base + 4 + sum%digestRange
}

// digest computes the HMAC-SHA256 of p without the 32 bytes at pos.
func digest(p []byte, pos int, key []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(p[:pos])
	h.Write(p[pos+digestLen:])
	return h.Sum(nil)
}

// findDigest returns the digest of a C1 or S1 signed with key, trying both
// schemas, and the schema that matched.
func findDigest(p, key []byte) (d []byte, schema int, ok bool) {
	for _, schema := range []int{1, 0} {
		pos := digestPos(p, schema)
		if want := digest(p, pos, key); hmac.Equal(want, p[pos:pos+digestLen]) {
			return want, schema, true
		}
	}
	return nil, 0, false
}

// imprint writes the digest of p (keyed with key) at its place for schema
// and returns it.
func imprint(p []byte, schema int, key []byte) []byte {
	pos := digestPos(p, schema)
	d := digest(p, pos, key)
	copy(p[pos:], d)
	return d
}

// sign fills p's last 32 bytes with the signature of the rest, keyed with
// HMAC(fullKey, peerDigest).
func sign(p, fullKey, peerDigest []byte) {
	copy(p[PacketSize-digestLen:], signature(p, fullKey, peerDigest))
}

func signature(p, fullKey, peerDigest []byte) []byte {
	k := hmac.New(sha256.New, fullKey)
	k.Write(peerDigest)
	h := hmac.New(sha256.New, k.Sum(nil))
	h.Write(p[:PacketSize-digestLen])
	return h.Sum(nil)
}

// Result tells how a handshake went.
type Result struct {
	// Complex is true when the peer used (and we answered) the digest form.
	Complex bool
	// Schema is the digest layout the peer used (0 or 1) when Complex.
	Schema int
}

// Respond computes S0+S1+S2 for a C0+C1. It is pure apart from reading
// random bytes from rnd, so the server side can be fuzzed without a
// socket. A C1 with a zero version, or whose digest does not validate,
// gets the simple answer (S2 echoes C1), as Flash-era servers do.
func Respond(c0c1 []byte, rnd io.Reader) ([]byte, Result, error) {
	if len(c0c1) != 1+PacketSize {
		return nil, Result{}, fmt.Errorf("handshake: C0C1 of %d bytes", len(c0c1))
	}
	if c0c1[0] != Version {
		return nil, Result{}, fmt.Errorf("%w: %d", ErrVersion, c0c1[0])
	}
	c1 := c0c1[1:]
	out := make([]byte, 1+2*PacketSize)
	out[0] = Version
	s1, s2 := out[1:1+PacketSize], out[1+PacketSize:]
	if _, err := io.ReadFull(rnd, out[1:]); err != nil {
		return nil, Result{}, fmt.Errorf("handshake: random: %w", err)
	}
	// time(4) = 0 and version(4) = 0 mean "simple" unless we sign below.
	clear(s1[:8])

	var res Result
	var c1Digest []byte
	if !bytes.Equal(c1[4:8], []byte{0, 0, 0, 0}) {
		c1Digest, res.Schema, res.Complex = findDigest(c1, genuineFPKey[:fpKeyPrefix])
	}
	if !res.Complex {
		copy(s2, c1)
		return out, res, nil
	}
	copy(s1[4:8], serverVersion[:])
	imprint(s1, res.Schema, genuineFMSKey[:fmsKeyPrefix])
	sign(s2, genuineFMSKey, c1Digest)
	return out, res, nil
}

// Server runs the server side on rw: read C0C1, send S0S1S2, read C2.
// C2 is not verified: players in the wild send C2s that do not validate.
func Server(rw io.ReadWriter) (Result, error) {
	c0c1 := make([]byte, 1+PacketSize)
	if _, err := io.ReadFull(rw, c0c1); err != nil {
		return Result{}, fmt.Errorf("handshake: reading C0C1: %w", err)
	}
	s, res, err := Respond(c0c1, rand.Reader)
	if err != nil {
		return res, err
	}
	if _, err := rw.Write(s); err != nil {
		return res, fmt.Errorf("handshake: writing S0S1S2: %w", err)
	}
	// Reuse the C0C1 buffer for C2.
	if _, err := io.ReadFull(rw, c0c1[:PacketSize]); err != nil {
		return res, fmt.Errorf("handshake: reading C2: %w", err)
	}
	return res, nil
}

// Client runs the client side in the digest form (schema 1, as ffmpeg and
// Flash Player send it) and verifies the server's answer when S1 carries a
// version, as ffmpeg does.
func Client(rw io.ReadWriter) (Result, error) {
	c0c1 := make([]byte, 1+PacketSize)
	c0c1[0] = Version
	c1 := c0c1[1:]
	if _, err := io.ReadFull(rand.Reader, c1[8:]); err != nil {
		return Result{}, fmt.Errorf("handshake: random: %w", err)
	}
	copy(c1[4:8], clientVersion[:])
	const schema = 1
	c1Digest := imprint(c1, schema, genuineFPKey[:fpKeyPrefix])
	if _, err := rw.Write(c0c1); err != nil {
		return Result{}, fmt.Errorf("handshake: writing C0C1: %w", err)
	}

	s := make([]byte, 1+2*PacketSize)
	if _, err := io.ReadFull(rw, s); err != nil {
		return Result{}, fmt.Errorf("handshake: reading S0S1S2: %w", err)
	}
	if s[0] != Version {
		return Result{}, fmt.Errorf("%w: %d", ErrVersion, s[0])
	}
	s1, s2 := s[1:1+PacketSize], s[1+PacketSize:]
	c2 := s1 // the simple form echoes S1
	res := Result{}
	if !bytes.Equal(s1[4:8], []byte{0, 0, 0, 0}) {
		s1Digest, sch, ok := findDigest(s1, genuineFMSKey[:fmsKeyPrefix])
		if !ok {
			return Result{}, fmt.Errorf("%w: S1", ErrDigest)
		}
		if !hmac.Equal(signature(s2, genuineFMSKey, c1Digest), s2[PacketSize-digestLen:]) {
			return Result{}, fmt.Errorf("%w: S2", ErrDigest)
		}
		res = Result{Complex: true, Schema: sch}
		c2 = make([]byte, PacketSize)
		if _, err := io.ReadFull(rand.Reader, c2); err != nil {
			return Result{}, fmt.Errorf("handshake: random: %w", err)
		}
		sign(c2, genuineFPKey, s1Digest)
	}
	if _, err := rw.Write(c2); err != nil {
		return Result{}, fmt.Errorf("handshake: writing C2: %w", err)
	}
	return res, nil
}
