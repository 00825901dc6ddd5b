package handshake

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"testing"
)

func TestClientAndServerCompleteTheDigestHandshake(t *testing.T) {
	c, s := net.Pipe()
	defer c.Close()
	defer s.Close()
	errc := make(chan error, 1)
	var sres Result
	go func() {
		var err error
		sres, err = Server(s)
		errc <- err
	}()
	cres, err := Client(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !cres.Complex || !sres.Complex || sres.Schema != 1 {
		t.Fatalf("client %+v server %+v", cres, sres)
	}
}

func TestServerAnswersASimpleC1WithAnEcho(t *testing.T) {
	c0c1 := make([]byte, 1+PacketSize)
	c0c1[0] = Version
	rand.Read(c0c1[9:])
	s, res, err := Respond(c0c1, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if res.Complex {
		t.Fatal("a version-0 C1 was taken for a digest C1")
	}
	if !bytes.Equal(s[1+PacketSize:], c0c1[1:]) {
		t.Fatal("S2 does not echo C1")
	}
	if !bytes.Equal(s[5:9], []byte{0, 0, 0, 0}) {
		t.Fatal("a simple S1 must carry a zero version, or ffmpeg verifies its digest")
	}
}

func TestClientCompletesAgainstASimpleServer(t *testing.T) {
	c, s := net.Pipe()
	defer c.Close()
	defer s.Close()
	errc := make(chan error, 1)
	go func() {
		c0c1 := make([]byte, 1+PacketSize)
		if _, err := io.ReadFull(s, c0c1); err != nil {
			errc <- err
			return
		}
		out := make([]byte, 1+2*PacketSize)
		out[0] = Version
		copy(out[1+PacketSize:], c0c1[1:])
		if _, err := s.Write(out); err != nil {
			errc <- err
			return
		}
		c2 := make([]byte, PacketSize)
		_, err := io.ReadFull(s, c2)
		if err == nil && !bytes.Equal(c2, out[1:1+PacketSize]) {
			err = errors.New("C2 does not echo S1")
		}
		errc <- err
	}()
	res, err := Client(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if res.Complex {
		t.Fatal("a simple answer reported as complex")
	}
}

// ffmpeg-c0c1.bin was captured from `ffmpeg -i rtmp://…` (Lavf 59, 5.1).
func TestServerValidatesFFmpegsC1AndSignsItsAnswer(t *testing.T) {
	c0c1, err := os.ReadFile("testdata/ffmpeg-c0c1.bin")
	if err != nil {
		t.Fatal(err)
	}
	s, res, err := Respond(c0c1, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Complex || res.Schema != 1 {
		t.Fatalf("got %+v, want the digest form in schema 1", res)
	}
	// Check the answer as ffmpeg does (rtmp_handshake in rtmpproto.c).
	s1, s2 := s[1:1+PacketSize], s[1+PacketSize:]
	if s1[4] < 3 {
		t.Fatal("S1's version would make ffmpeg skip verification")
	}
	if _, _, ok := findDigest(s1, genuineFMSKey[:fmsKeyPrefix]); !ok {
		t.Fatal("S1 digest does not validate")
	}
	c1Digest, _, _ := findDigest(c0c1[1:], genuineFPKey[:fpKeyPrefix])
	if !hmac.Equal(signature(s2, genuineFMSKey, c1Digest), s2[PacketSize-digestLen:]) {
		t.Fatal("S2 signature does not validate")
	}
}

func TestServerFallsBackToSimpleWhenTheDigestIsWrong(t *testing.T) {
	c0c1, err := os.ReadFile("testdata/ffmpeg-c0c1.bin")
	if err != nil {
		t.Fatal(err)
	}
	pos := digestPos(c0c1[1:], 1)
	c0c1[1+pos] ^= 0xff
	_, res, err := Respond(c0c1, rand.Reader)
	if err != nil || res.Complex {
		t.Fatalf("got %+v, %v", res, err)
	}
}

func TestServerRefusesOtherVersions(t *testing.T) {
	for _, v := range []byte{0, 6, 8} {
		c0c1 := make([]byte, 1+PacketSize)
		c0c1[0] = v
		if _, _, err := Respond(c0c1, rand.Reader); !errors.Is(err, ErrVersion) {
			t.Fatalf("version %d: %v", v, err)
		}
	}
}

func TestClientRejectsAForgedS1Digest(t *testing.T) {
	c, s := net.Pipe()
	defer c.Close()
	defer s.Close()
	go func() {
		c0c1 := make([]byte, 1+PacketSize)
		if _, err := io.ReadFull(s, c0c1); err != nil {
			return
		}
		out := make([]byte, 1+2*PacketSize)
		out[0] = Version
		rand.Read(out[1:])
		out[5] = 9 // claims a digest it does not carry
		s.Write(out)
	}()
	if _, err := Client(c); !errors.Is(err, ErrDigest) {
		t.Fatalf("got %v", err)
	}
}

func FuzzHandshake(f *testing.F) {
	if c0c1, err := os.ReadFile("testdata/ffmpeg-c0c1.bin"); err == nil {
		f.Add(c0c1)
	}
	f.Add(make([]byte, 1+PacketSize))
	f.Add([]byte{3})
	f.Fuzz(func(t *testing.T, c0c1 []byte) {
		s, res, err := Respond(c0c1, bytes.NewReader(make([]byte, 2*PacketSize)))
		if err != nil {
			return
		}
		if len(s) != 1+2*PacketSize {
			t.Fatalf("answer of %d bytes", len(s))
		}
		if !res.Complex && !bytes.Equal(s[1+PacketSize:], c0c1[1:]) {
			t.Fatal("a simple answer does not echo C1")
		}
	})
}
