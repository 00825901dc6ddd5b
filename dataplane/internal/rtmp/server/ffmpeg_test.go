package server

import (
	"testing"
	"tidecast.dev/dataplane/internal/mediatest"
	"time"

	"tidecast.dev/dataplane/internal/media"
)

func TestFFmpegPublishesAndFFmpegPlaysVideoAndAudio(t *testing.T) {
	srv := startServer(t, Settings{})
	pub := mediatest.FFmpegPublish(t, srv.url("live/test"))
	mediatest.Eventually(t, 10*time.Second, "ffmpeg publishing", func() bool { return len(mediatest.ClientsOf(srv.reg, media.FMLEPublish)) == 1 })

	player := mediatest.FFmpegPlay(t, srv.url("live/test"))
	mediatest.Eventually(t, 15*time.Second, "the player decoding 60 video and 60 audio frames", func() bool {
		v, a := player.Counts()
		return v >= 60 && a >= 60
	})

	snap := srv.reg.Snapshot()
	if len(snap.Streams) != 1 {
		t.Fatalf("streams: %+v", snap.Streams)
	}
	st := snap.Streams[0]
	wantKey := media.StreamKey{Vhost: media.DefaultVhost, App: "live", Name: "test"}
	if st.Info.Key != wantKey || !st.Publishing || st.Info.TcURL != "rtmp://"+srv.addr+"/live" {
		t.Fatalf("stream %+v", st)
	}
	if st.Video == nil || st.Video.Codec != "H264" || st.Video.Width != 640 || st.Video.Height != 360 || st.Video.Profile != "High" || st.Video.Level == "Other" {
		t.Fatalf("video %+v", st.Video)
	}
	if st.Audio == nil || *st.Audio != (media.AudioInfo{Codec: "AAC", SampleRate: 44100, Channels: 2, Profile: "LC"}) {
		t.Fatalf("audio %+v", st.Audio)
	}
	pubs, players := mediatest.ClientsOf(srv.reg, media.FMLEPublish), mediatest.ClientsOf(srv.reg, media.RTMPPlay)
	if len(players) != 1 || pubs[0].StreamID != st.Info.ID || players[0].StreamID != st.Info.ID ||
		pubs[0].IP != "127.0.0.1" || pubs[0].RequestedName != "test" || pubs[0].TcURL != "rtmp://"+srv.addr+"/live" ||
		pubs[0].Key != wantKey || st.PublisherID != pubs[0].ID {
		t.Fatalf("clients %+v / %+v", pubs, players)
	}

	// Counters grow.
	sample := func() (pubRecv, playSend, streamRecv, streamSend, frames uint64) {
		s := srv.reg.Sample()
		for _, c := range s.Clients {
			switch c.ID {
			case pubs[0].ID:
				pubRecv = c.RecvBytes
			case players[0].ID:
				playSend = c.SendBytes
			}
		}
		return pubRecv, playSend, s.Streams[0].RecvBytes, s.Streams[0].SendBytes, s.Streams[0].Frames
	}
	a1, b1, c1, d1, f1 := sample()
	if a1 == 0 || b1 == 0 || c1 == 0 || d1 == 0 || f1 == 0 {
		t.Fatalf("counters not counting: %d %d %d %d %d", a1, b1, c1, d1, f1)
	}
	mediatest.Eventually(t, 5*time.Second, "counters growing", func() bool {
		a2, b2, c2, d2, f2 := sample()
		return a2 > a1 && b2 > b1 && c2 > c1 && d2 > d1 && f2 > f1
	})
	if !pub.Running() || !player.Running() {
		t.Fatal("a client exited")
	}
}

func TestAPlayerJoiningMidStreamDecodesWithinOneGOP(t *testing.T) {
	srv := startServer(t, Settings{})
	mediatest.FFmpegPublish(t, srv.url("live/gop"))
	first := mediatest.FFmpegPlay(t, srv.url("live/gop"))
	mediatest.Eventually(t, 15*time.Second, "the first player decoding", func() bool { v, _ := first.Counts(); return v > 0 })
	// Join well into the stream, away from a GOP boundary (GOP = 2 s).
	mediatest.Eventually(t, 15*time.Second, "2.5 s of the stream decoded", func() bool { v, _ := first.Counts(); return v >= 75 })

	// ffmpeg's default probing buffers about a second of media before it
	// decodes anything, which measures ffmpeg, not the server: probe less,
	// as low-latency players do.
	late := mediatest.FFmpegPlay(t, srv.url("live/gop"), "-analyzeduration", "100000")
	mediatest.Eventually(t, 10*time.Second, "the late player decoding video and audio", func() bool {
		v, a := late.Counts()
		return v > 0 && a > 0
	})
	const gop = 2 * time.Second
	if d := late.FirstFrameAfter(); d > gop {
		t.Fatalf("the late player decoded its first frame %v after starting, more than a GOP", d)
	} else {
		t.Logf("first frame %v after start (first player: %v)", d, first.FirstFrameAfter())
	}
}

func TestKickClosesAnFFmpegPlayerAtOnce(t *testing.T) {
	srv := startServer(t, Settings{})
	mediatest.FFmpegPublish(t, srv.url("live/kick"))
	player := mediatest.FFmpegPlay(t, srv.url("live/kick"))
	mediatest.Eventually(t, 15*time.Second, "the player decoding", func() bool { v, _ := player.Counts(); return v > 10 })
	players := mediatest.ClientsOf(srv.reg, media.RTMPPlay)
	if len(players) != 1 {
		t.Fatalf("players %+v", players)
	}
	kicked := time.Now()
	if err := srv.reg.Kick(players[0].ID); err != nil {
		t.Fatal(err)
	}
	// At once, not after a timeout of the server's (15 s and more): the
	// wait is a hang guard, not a measure of "at once" on a loaded machine.
	player.WaitExit(t, 5*time.Second)
	t.Logf("ffmpeg exited %v after the kick", time.Since(kicked))
	mediatest.Eventually(t, time.Second, "the player leaving the registry", func() bool { return len(mediatest.ClientsOf(srv.reg, media.RTMPPlay)) == 0 })
}

func TestKickingThePublisherEndsTheStreamForItsPlayers(t *testing.T) {
	srv := startServer(t, Settings{})
	pub := mediatest.FFmpegPublish(t, srv.url("live/end"))
	player := mediatest.FFmpegPlay(t, srv.url("live/end"))
	mediatest.Eventually(t, 15*time.Second, "the player decoding", func() bool { v, _ := player.Counts(); return v > 10 })
	goPlayer := goPlay(t, srv, "end")

	pubs := mediatest.ClientsOf(srv.reg, media.FMLEPublish)
	if err := srv.reg.Kick(pubs[0].ID); err != nil {
		t.Fatal(err)
	}
	pub.WaitExit(t, 5*time.Second)
	// ffmpeg stops playing on NetStream.Play.UnpublishNotify.
	player.WaitExit(t, 5*time.Second)
	for {
		m, err := goPlayer.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if m.Status == "NetStream.Play.UnpublishNotify" {
			break
		}
	}
	st := srv.reg.Snapshot().Streams
	if len(st) != 1 || st[0].Publishing || st[0].Video != nil {
		t.Fatalf("streams after the kick: %+v", st)
	}
	goPlayer.Close()
	mediatest.Eventually(t, 5*time.Second, "the stream closing with its last client", func() bool { return len(srv.reg.Snapshot().Streams) == 0 })
}
