package cpclient

import (
	"time"

	fleetv1 "tidecast.dev/proto/fleet/v1"

	"tidecast.dev/dataplane/internal/media"
	"tidecast.dev/dataplane/internal/nodestats"
	"tidecast.dev/dataplane/internal/registry"
)

func toProtoStream(s registry.StreamState) *fleetv1.Stream {
	return &fleetv1.Stream{
		Id:                string(s.Info.ID),
		Vhost:             s.Info.Key.Vhost,
		App:               s.Info.Key.App,
		Name:              s.Info.Key.Name,
		TcUrl:             s.Info.TcURL,
		Publishing:        s.Publishing,
		PublisherClientId: string(s.PublisherID),
		Video:             toProtoVideo(s.Video),
		Audio:             toProtoAudio(s.Audio),
		CreatedAtMs:       s.Info.CreatedAt.UnixMilli(),
	}
}

func toProtoClient(c media.ClientInfo) *fleetv1.Client {
	return &fleetv1.Client{
		Id:            string(c.ID),
		StreamId:      string(c.StreamID),
		Vhost:         c.Key.Vhost,
		App:           c.Key.App,
		Stream:        c.RequestedName,
		Ip:            c.IP,
		PageUrl:       c.PageURL,
		SwfUrl:        c.SwfURL,
		TcUrl:         c.TcURL,
		Type:          string(c.Type),
		Publish:       c.Type.IsPublish(),
		ConnectedAtMs: c.ConnectedAt.UnixMilli(),
	}
}

func toProtoVideo(v *media.VideoInfo) *fleetv1.VideoInfo {
	if v == nil {
		return nil
	}
	return &fleetv1.VideoInfo{Codec: v.Codec, Profile: v.Profile, Level: v.Level, Width: int32(v.Width), Height: int32(v.Height)}
}

func toProtoAudio(a *media.AudioInfo) *fleetv1.AudioInfo {
	if a == nil {
		return nil
	}
	return &fleetv1.AudioInfo{Codec: a.Codec, SampleRate: int32(a.SampleRate), Channels: int32(a.Channels), Profile: a.Profile}
}

func toProtoSnapshot(s registry.Snapshot, configVersion uint64) *fleetv1.WorkerMessage {
	snap := &fleetv1.Snapshot{
		Seq:           s.Seq,
		TakenAtMs:     s.TakenAt.UnixMilli(),
		ConfigVersion: configVersion,
		Streams:       make([]*fleetv1.Stream, 0, len(s.Streams)),
		Clients:       make([]*fleetv1.Client, 0, len(s.Clients)),
	}
	for _, st := range s.Streams {
		snap.Streams = append(snap.Streams, toProtoStream(st))
	}
	for _, c := range s.Clients {
		snap.Clients = append(snap.Clients, toProtoClient(c))
	}
	return &fleetv1.WorkerMessage{Body: &fleetv1.WorkerMessage_Snapshot{Snapshot: snap}}
}

func toProtoEvent(ev registry.Event) *fleetv1.WorkerMessage {
	e := &fleetv1.Event{Seq: ev.Seq, AtMs: ev.At.UnixMilli()}
	switch ev.Kind {
	case registry.StreamOpened:
		e.Kind = &fleetv1.Event_StreamOpened{StreamOpened: toProtoStream(*ev.Stream)}
	case registry.StreamClosed:
		e.Kind = &fleetv1.Event_StreamClosed{StreamClosed: string(ev.StreamID)}
	case registry.ClientJoined:
		e.Kind = &fleetv1.Event_ClientJoined{ClientJoined: toProtoClient(*ev.Client)}
	case registry.ClientLeft:
		e.Kind = &fleetv1.Event_ClientLeft{ClientLeft: string(ev.ClientID)}
	case registry.PublishStarted:
		e.Kind = &fleetv1.Event_PublishStarted{PublishStarted: &fleetv1.PublishStarted{StreamId: string(ev.StreamID), ClientId: string(ev.ClientID)}}
	case registry.PublishStopped:
		e.Kind = &fleetv1.Event_PublishStopped{PublishStopped: string(ev.StreamID)}
	case registry.CodecChanged:
		e.Kind = &fleetv1.Event_CodecInfo{CodecInfo: &fleetv1.CodecInfo{
			StreamId: string(ev.StreamID), Video: toProtoVideo(ev.Video), Audio: toProtoAudio(ev.Audio),
		}}
	}
	return &fleetv1.WorkerMessage{Body: &fleetv1.WorkerMessage_Event{Event: e}}
}

func toProtoSamples(s registry.Samples) *fleetv1.WorkerMessage {
	m := &fleetv1.Samples{
		AtMs:          s.At.UnixMilli(),
		SendBytes:     s.SendBytes,
		RecvBytes:     s.RecvBytes,
		ClientsJoined: s.ClientsJoined,
		ClientsFailed: s.ClientsFailed,
		Clients:       make([]*fleetv1.ClientCounters, 0, len(s.Clients)),
		Streams:       make([]*fleetv1.StreamCounters, 0, len(s.Streams)),
	}
	for _, c := range s.Clients {
		m.Clients = append(m.Clients, &fleetv1.ClientCounters{Id: string(c.ID), SendBytes: c.SendBytes, RecvBytes: c.RecvBytes})
	}
	for _, st := range s.Streams {
		m.Streams = append(m.Streams, &fleetv1.StreamCounters{Id: string(st.ID), SendBytes: st.SendBytes, RecvBytes: st.RecvBytes, Frames: st.Frames})
	}
	return &fleetv1.WorkerMessage{Body: &fleetv1.WorkerMessage_Samples{Samples: m}}
}

func toProtoNodeStats(s nodestats.Stats, connections int) *fleetv1.WorkerMessage {
	return &fleetv1.WorkerMessage{Body: &fleetv1.WorkerMessage_NodeStats{NodeStats: &fleetv1.NodeStats{
		AtMs:           s.At.UnixMilli(),
		CpuPercent:     s.CPUPercent,
		Cpus:           int32(s.CPUs),
		MemTotalKb:     s.MemTotalKB,
		MemUsedKb:      s.MemUsedKB,
		Load1:          s.Load1,
		Load5:          s.Load5,
		Load15:         s.Load15,
		ProcCpuPercent: s.ProcCPUPercent,
		ProcRssKb:      s.ProcRSSKB,
		ProcGoroutines: int32(s.ProcGoroutines),
		ProcThreads:    int32(s.ProcThreads),
		ProcFds:        int32(s.ProcFDs),
		UptimeSeconds:  int64(s.Uptime / time.Second),
		Connections:    int32(connections),
	}}}
}

func fromProtoConfig(c *fleetv1.Config) media.Settings {
	s := media.Settings{
		Version:        c.GetVersion(),
		RTMPListen:     c.GetRtmpListen(),
		ChunkSize:      int(c.GetChunkSize()),
		MaxConnections: int(c.GetMaxConnections()),
		WebRTC: media.WebRTCSettings{
			Enabled:    c.GetWebrtc().GetEnabled(),
			Listen:     c.GetWebrtc().GetListen(),
			Candidates: c.GetWebrtc().GetCandidates(),
		},
		HTTPServer: media.HTTPServerSettings{
			Enabled: c.GetHttpServer().GetEnabled(),
			Listen:  c.GetHttpServer().GetListen(),
		},
	}
	for _, v := range c.GetVhosts() {
		s.Vhosts = append(s.Vhosts, media.VhostSettings{
			Name:      v.GetName(),
			Enabled:   v.GetEnabled(),
			GopCache:  v.GetGopCache(),
			MWLatency: time.Duration(v.GetMwLatencyMs()) * time.Millisecond,
			RTC:       v.GetRtcEnabled(),
			RTMPToRTC: v.GetRtmpToRtc(),
			RTCToRTMP: v.GetRtcToRtmp(),
			HTTPRemux: media.HTTPRemuxSettings{
				Enabled: v.GetHttpRemuxEnabled(),
				Mount:   v.GetHttpRemuxMount(),
			},
		})
	}
	return s
}
