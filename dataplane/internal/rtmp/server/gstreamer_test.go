package server

import (
	"strings"
	"testing"
	"tidecast.dev/dataplane/internal/mediatest"
	"time"

	"tidecast.dev/dataplane/internal/media"
)

// gstPublish publishes H.264 + AAC with GStreamer's rtmp2sink.
func gstPublish(t testing.TB, url string) *mediatest.Process {
	pipeline := "videotestsrc is-live=true ! video/x-raw,width=640,height=360,framerate=30/1 ! " +
		"x264enc tune=zerolatency key-int-max=60 ! h264parse ! flvmux name=m streamable=true ! " +
		"rtmp2sink location=" + url + " " +
		"audiotestsrc is-live=true ! audioconvert ! voaacenc ! aacparse ! m."
	return mediatest.Start(t, nil, "gst-launch-1.0", append([]string{"-q"}, strings.Fields(pipeline)...)...)
}

func TestGStreamerPublishesAndFFmpegPlays(t *testing.T) {
	srv := startServer(t, Settings{})
	gstPublish(t, srv.url("live/gst"))
	mediatest.Eventually(t, 10*time.Second, "GStreamer publishing", func() bool {
		return len(mediatest.ClientsOf(srv.reg, media.FMLEPublish))+len(mediatest.ClientsOf(srv.reg, media.FlashPublish)) == 1
	})
	player := mediatest.FFmpegPlay(t, srv.url("live/gst"), "-analyzeduration", "1000000")
	mediatest.Eventually(t, 15*time.Second, "the player decoding video and audio", func() bool {
		v, a := player.Counts()
		return v >= 30 && a >= 30
	})
	st := srv.reg.Snapshot().Streams[0]
	if st.Video == nil || st.Video.Codec != "H264" || st.Video.Width != 640 || st.Video.Height != 360 {
		t.Fatalf("video %+v", st.Video)
	}
	if st.Audio == nil || st.Audio.Codec != "AAC" || st.Audio.Profile != "LC" {
		t.Fatalf("audio %+v", st.Audio)
	}
}
