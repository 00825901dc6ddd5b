package grpcserver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	fleetv1 "tidecast.dev/proto/fleet/v1"

	"tidecast.dev/controlplane/internal/fleet"
)

// session is one open stream. Its handler goroutine is the stream's only
// sender; other goroutines hand it messages through out.
type session struct {
	node fleet.NodeID
	out  chan *fleetv1.ControlMessage
	done chan struct{}

	mu      sync.Mutex
	pending map[string]chan *fleetv1.CommandResult
}

// enqueue hands a message to the sender without blocking; a session too
// far behind to take it is failing anyway and will be replaced.
func (s *session) enqueue(m *fleetv1.ControlMessage) bool {
	select {
	case s.out <- m:
		return true
	default:
		return false
	}
}

// command sends m and waits for the result carrying id.
func (s *session) command(ctx context.Context, id string, m *fleetv1.ControlMessage, timeout time.Duration) (*fleetv1.CommandResult, error) {
	ch := make(chan *fleetv1.CommandResult, 1)
	s.mu.Lock()
	s.pending[id] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pending, id)
		s.mu.Unlock()
	}()
	if !s.enqueue(m) {
		return nil, fleet.ErrWorkerUnreachable
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case res := <-ch:
		return res, nil
	case <-s.done:
		return nil, fleet.ErrWorkerUnreachable
	case <-t.C:
		return nil, fleet.ErrWorkerTimeout
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *session) resolve(res *fleetv1.CommandResult) {
	s.mu.Lock()
	ch := s.pending[res.GetCommandId()]
	s.mu.Unlock()
	if ch != nil {
		ch <- res // buffered, and each id is answered once
	}
}

// refusedSession counts the sessions refused for their credentials.
const refusedSession = "refused"

// Session implements the Fleet service.
func (s *Server) Session(stream fleetv1.Fleet_SessionServer) error {
	ctx := stream.Context()
	log := s.log
	if p, ok := peer.FromContext(ctx); ok {
		log = log.With("peer", p.Addr.String())
	}
	if err := s.authenticate(ctx); err != nil {
		if s.refusals.note(refusedSession) {
			log.Warn("refused worker session", "err", err)
		}
		return err
	}
	s.conns.authenticated(ctx)

	recvd := make(chan *fleetv1.WorkerMessage)
	recvErr := make(chan error, 1)
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			select {
			case recvd <- m:
			case <-ctx.Done():
				recvErr <- ctx.Err()
				return
			}
		}
	}()

	hello, err := s.awaitHello(ctx, recvd, recvErr)
	if err != nil {
		log.Warn("refused worker session", "err", err)
		return err
	}
	log = log.With("node", hello.GetNodeId(), "boot", hello.GetBootId())
	fs := s.reg.Attach(fromProtoHello(hello))
	sess := &session{
		node:    fleet.NodeID(hello.GetNodeId()),
		out:     make(chan *fleetv1.ControlMessage, 256),
		done:    make(chan struct{}),
		pending: map[string]chan *fleetv1.CommandResult{},
	}
	s.mu.Lock()
	s.sessions[sess.node] = sess
	s.mu.Unlock()
	defer func() {
		close(sess.done)
		s.mu.Lock()
		if s.sessions[sess.node] == sess {
			delete(s.sessions, sess.node)
		}
		s.mu.Unlock()
		fs.Detach()
	}()
	log.Info("worker session open")
	if cfg := s.config.Load(); cfg != nil {
		if err := stream.Send(&fleetv1.ControlMessage{Body: &fleetv1.ControlMessage_Config{Config: cfg}}); err != nil {
			return err
		}
	}

	ping := time.NewTicker(s.cfg.PingEvery)
	defer ping.Stop()
	var nonce uint64
	resyncAsked := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.stopping:
			return status.Error(codes.Unavailable, "control plane shutting down")
		case err := <-recvErr:
			log.Info("worker session closed", "err", err)
			return nil
		case m := <-sess.out:
			if err := stream.Send(m); err != nil {
				return err
			}
		case <-ping.C:
			nonce++
			if err := stream.Send(&fleetv1.ControlMessage{Body: &fleetv1.ControlMessage_Ping{Ping: &fleetv1.Ping{Nonce: nonce}}}); err != nil {
				return err
			}
		case m := <-recvd:
			err := s.apply(fs, sess, m, &resyncAsked)
			switch {
			case errors.Is(err, fleet.ErrSuperseded):
				log.Info("worker session superseded by a newer one")
				return status.Error(codes.Aborted, "superseded by a newer session")
			case errors.Is(err, fleet.ErrGap) && !resyncAsked:
				resyncAsked = true
				log.Warn("gap in worker events, asking for a snapshot")
				if err := stream.Send(&fleetv1.ControlMessage{Body: &fleetv1.ControlMessage_Resync{Resync: &fleetv1.Resync{}}}); err != nil {
					return err
				}
			case err != nil && !errors.Is(err, fleet.ErrGap) && !errors.Is(err, fleet.ErrUnsynced):
				log.Warn("bad worker message", "err", err)
				return status.Error(codes.InvalidArgument, err.Error())
			}
		}
	}
}

func (s *Server) awaitHello(ctx context.Context, recvd <-chan *fleetv1.WorkerMessage, recvErr <-chan error) (*fleetv1.Hello, error) {
	t := time.NewTimer(s.cfg.HelloTimeout)
	defer t.Stop()
	select {
	case m := <-recvd:
		h := m.GetHello()
		if err := validateHello(h); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		return h, nil
	case err := <-recvErr:
		return nil, fmt.Errorf("before hello: %w", err)
	case <-t.C:
		return nil, status.Error(codes.DeadlineExceeded, "no hello in time")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// apply feeds one worker message into the registry.
func (s *Server) apply(fs *fleet.Session, sess *session, m *fleetv1.WorkerMessage, resyncAsked *bool) error {
	switch b := m.GetBody().(type) {
	case *fleetv1.WorkerMessage_Snapshot:
		*resyncAsked = false
		return fs.ApplySnapshot(fromProtoSnapshot(b.Snapshot))
	case *fleetv1.WorkerMessage_Event:
		return fs.ApplyEvent(fromProtoEvent(b.Event))
	case *fleetv1.WorkerMessage_Samples:
		return fs.ApplySamples(fromProtoSamples(b.Samples))
	case *fleetv1.WorkerMessage_NodeStats:
		return fs.ApplyNodeStats(fromProtoNodeStats(b.NodeStats))
	case *fleetv1.WorkerMessage_CommandResult:
		sess.resolve(b.CommandResult)
		return fs.Touch()
	case *fleetv1.WorkerMessage_Pong:
		return fs.Touch()
	case *fleetv1.WorkerMessage_Hello:
		// A later hello updates what the worker advertises; it may not
		// change who the worker is.
		if err := validateHello(b.Hello); err != nil {
			return err
		}
		return fs.UpdateHello(fromProtoHello(b.Hello))
	default:
		return fmt.Errorf("empty or unknown message")
	}
}
