package grpcserver

import (
	"time"

	fleetv1 "tidecast.dev/proto/fleet/v1"

	"tidecast.dev/controlplane/internal/fleet"
)

func fromProtoHello(h *fleetv1.Hello) fleet.Hello {
	return fleet.Hello{
		Node:        fleet.NodeID(h.GetNodeId()),
		Boot:        fleet.BootID(h.GetBootId()),
		Version:     h.GetVersion(),
		RTMPAddrs:   h.GetRtmpAddresses(),
		HTTPAddrs:   h.GetHttpAddresses(),
		WebRTCAddrs: h.GetWebrtcAddresses(),
		StartedAt:   time.UnixMilli(h.GetStartedAtMs()),
		PID:         int(h.GetPid()),
	}
}

func fromProtoStream(s *fleetv1.Stream) fleet.StreamInfo {
	return fleet.StreamInfo{
		ID:          s.GetId(),
		Vhost:       s.GetVhost(),
		App:         s.GetApp(),
		Name:        s.GetName(),
		TcURL:       s.GetTcUrl(),
		Publishing:  s.GetPublishing(),
		PublisherID: s.GetPublisherClientId(),
		Video:       fromProtoVideo(s.GetVideo()),
		Audio:       fromProtoAudio(s.GetAudio()),
		CreatedAt:   time.UnixMilli(s.GetCreatedAtMs()),
	}
}

func fromProtoClient(c *fleetv1.Client) fleet.ClientInfo {
	return fleet.ClientInfo{
		ID:          c.GetId(),
		StreamID:    c.GetStreamId(),
		Vhost:       c.GetVhost(),
		App:         c.GetApp(),
		Stream:      c.GetStream(),
		IP:          c.GetIp(),
		PageURL:     c.GetPageUrl(),
		SwfURL:      c.GetSwfUrl(),
		TcURL:       c.GetTcUrl(),
		Type:        c.GetType(),
		Publish:     c.GetPublish(),
		ConnectedAt: time.UnixMilli(c.GetConnectedAtMs()),
	}
}

func fromProtoVideo(v *fleetv1.VideoInfo) *fleet.VideoInfo {
	if v == nil {
		return nil
	}
	return &fleet.VideoInfo{Codec: v.GetCodec(), Profile: v.GetProfile(), Level: v.GetLevel(), Width: int(v.GetWidth()), Height: int(v.GetHeight())}
}

func fromProtoAudio(a *fleetv1.AudioInfo) *fleet.AudioInfo {
	if a == nil {
		return nil
	}
	return &fleet.AudioInfo{Codec: a.GetCodec(), SampleRate: int(a.GetSampleRate()), Channels: int(a.GetChannels()), Profile: a.GetProfile()}
}

func fromProtoSnapshot(s *fleetv1.Snapshot) fleet.Snapshot {
	out := fleet.Snapshot{
		Seq:     s.GetSeq(),
		Streams: make([]fleet.StreamInfo, 0, len(s.GetStreams())),
		Clients: make([]fleet.ClientInfo, 0, len(s.GetClients())),
	}
	for _, st := range s.GetStreams() {
		out.Streams = append(out.Streams, fromProtoStream(st))
	}
	for _, c := range s.GetClients() {
		out.Clients = append(out.Clients, fromProtoClient(c))
	}
	return out
}

func fromProtoEvent(e *fleetv1.Event) fleet.Event {
	ev := fleet.Event{Seq: e.GetSeq()}
	switch k := e.GetKind().(type) {
	case *fleetv1.Event_StreamOpened:
		st := fromProtoStream(k.StreamOpened)
		ev.Kind, ev.Stream = fleet.StreamOpened, &st
	case *fleetv1.Event_StreamClosed:
		ev.Kind, ev.StreamID = fleet.StreamClosed, k.StreamClosed
	case *fleetv1.Event_ClientJoined:
		c := fromProtoClient(k.ClientJoined)
		ev.Kind, ev.Client = fleet.ClientJoined, &c
	case *fleetv1.Event_ClientLeft:
		ev.Kind, ev.ClientID = fleet.ClientLeft, k.ClientLeft
	case *fleetv1.Event_PublishStarted:
		ev.Kind, ev.StreamID, ev.ClientID = fleet.PublishStarted, k.PublishStarted.GetStreamId(), k.PublishStarted.GetClientId()
	case *fleetv1.Event_PublishStopped:
		ev.Kind, ev.StreamID = fleet.PublishStopped, k.PublishStopped
	case *fleetv1.Event_CodecInfo:
		ev.Kind, ev.StreamID = fleet.CodecChanged, k.CodecInfo.GetStreamId()
		ev.Video, ev.Audio = fromProtoVideo(k.CodecInfo.GetVideo()), fromProtoAudio(k.CodecInfo.GetAudio())
	}
	return ev
}

func fromProtoSamples(s *fleetv1.Samples) fleet.Samples {
	out := fleet.Samples{
		At:           time.UnixMilli(s.GetAtMs()),
		Clients:      make([]fleet.ClientCounters, 0, len(s.GetClients())),
		Streams:      make([]fleet.StreamCounters, 0, len(s.GetStreams())),
		Total:        fleet.Counters{SendBytes: s.GetSendBytes(), RecvBytes: s.GetRecvBytes()},
		ClientTotals: fleet.ClientTotals{Joined: s.GetClientsJoined(), Failed: s.GetClientsFailed()},
	}
	for _, c := range s.GetClients() {
		out.Clients = append(out.Clients, fleet.ClientCounters{
			ID: c.GetId(), Counters: fleet.Counters{SendBytes: c.GetSendBytes(), RecvBytes: c.GetRecvBytes()},
		})
	}
	for _, st := range s.GetStreams() {
		out.Streams = append(out.Streams, fleet.StreamCounters{
			ID: st.GetId(), Counters: fleet.Counters{SendBytes: st.GetSendBytes(), RecvBytes: st.GetRecvBytes()}, Frames: st.GetFrames(),
		})
	}
	return out
}

func fromProtoNodeStats(n *fleetv1.NodeStats) fleet.NodeStats {
	return fleet.NodeStats{
		At:             time.UnixMilli(n.GetAtMs()),
		CPUPercent:     n.GetCpuPercent(),
		CPUs:           int(n.GetCpus()),
		MemTotalKB:     n.GetMemTotalKb(),
		MemUsedKB:      n.GetMemUsedKb(),
		Load1:          n.GetLoad1(),
		Load5:          n.GetLoad5(),
		Load15:         n.GetLoad15(),
		ProcCPUPercent: n.GetProcCpuPercent(),
		ProcRSSKB:      n.GetProcRssKb(),
		ProcGoroutines: int(n.GetProcGoroutines()),
		ProcThreads:    int(n.GetProcThreads()),
		ProcFDs:        int(n.GetProcFds()),
		Uptime:         time.Duration(n.GetUptimeSeconds()) * time.Second,
		Connections:    int(n.GetConnections()),
	}
}
