package cpclient

import (
	"context"
	"errors"
	"fmt"
	"time"

	fleetv1 "tidecast.dev/proto/fleet/v1"

	"tidecast.dev/dataplane/internal/media"
	"tidecast.dev/dataplane/internal/registry"
)

// codeUnsupported answers commands this worker cannot carry out yet.
const codeUnsupported = 1

// runSession opens one Session stream and serves it until it breaks or ctx
// ends. This goroutine is the stream's only sender; a second goroutine
// receives and hands messages over through a channel. Kicks are carried
// out by the receiving goroutine as they arrive, so that a kick never waits
// behind the samples or events this one is sending; only their answers
// come through here.
func (c *Client) runSession(ctx context.Context, api fleetv1.FleetClient, addr string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Not WaitForReady: a control plane that refuses the connection (TLS,
	// down) fails the call, so the reason reaches the log.
	stream, err := api.Session(ctx)
	if err != nil {
		return fmt.Errorf("opening session: %w", err)
	}
	sub, snap := c.deps.Registry.Subscribe(c.cfg.EventQueue)
	defer sub.Close()

	hello, helloChanged := c.currentHello()
	if err := stream.Send(hello); err != nil {
		return fmt.Errorf("sending hello: %w", err)
	}
	if err := stream.Send(toProtoSnapshot(snap, c.configVersion())); err != nil {
		return fmt.Errorf("sending snapshot: %w", err)
	}
	if err := c.sendSamples(stream); err != nil {
		return err
	}

	received := make(chan *fleetv1.ControlMessage)
	answers := make(chan *fleetv1.WorkerMessage)
	recvErr := make(chan error, 1)
	go func() {
		for {
			msg, err := stream.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			var handed bool
			if k := msg.GetKick(); k != nil {
				handed = trySend(ctx, answers, c.kick(k))
			} else {
				handed = trySend(ctx, received, msg)
			}
			if !handed {
				recvErr <- ctx.Err()
				return
			}
		}
	}()
	// The receiver ends once ctx is cancelled (Recv fails); wait for it so
	// it never outlives the session.
	defer func() { cancel(); <-recvErr }()

	c.setConnected(addr, true)
	c.log.Info("control-plane session open", "addr", addr)
	tick := time.NewTicker(c.cfg.SampleEvery)
	defer tick.Stop()
	for {
		var out *fleetv1.WorkerMessage
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-recvErr:
			recvErr <- err // for the deferred wait
			return fmt.Errorf("receiving: %w", err)
		case ev := <-sub.Events():
			out = toProtoEvent(ev)
		case <-sub.NeedsResync():
			out = toProtoSnapshot(sub.Resync(), c.configVersion())
		case <-helloChanged:
			out, helloChanged = c.currentHello()
		case <-tick.C:
			if err := c.sendSamples(stream); err != nil {
				return err
			}
			continue
		case msg := <-received:
			if out, err = c.handle(msg, sub.Resync); err != nil {
				return err
			}
		case out = <-answers:
		}
		if out == nil {
			continue
		}
		if err := stream.Send(out); err != nil {
			return fmt.Errorf("sending: %w", err)
		}
	}
}

func (c *Client) sendSamples(stream fleetv1.Fleet_SessionClient) error {
	if err := stream.Send(toProtoSamples(c.deps.Registry.Sample())); err != nil {
		return fmt.Errorf("sending samples: %w", err)
	}
	if c.deps.NodeStats == nil {
		return nil
	}
	if err := stream.Send(toProtoNodeStats(c.deps.NodeStats(), c.deps.Registry.Clients())); err != nil {
		return fmt.Errorf("sending node stats: %w", err)
	}
	return nil
}

// handle carries out one message from the control plane and returns the
// answer to send, if any.
func (c *Client) handle(msg *fleetv1.ControlMessage, resync func() registry.Snapshot) (*fleetv1.WorkerMessage, error) {
	switch body := msg.GetBody().(type) {
	case *fleetv1.ControlMessage_Ping:
		return &fleetv1.WorkerMessage{Body: &fleetv1.WorkerMessage_Pong{Pong: &fleetv1.Pong{Nonce: body.Ping.GetNonce()}}}, nil
	case *fleetv1.ControlMessage_Resync:
		return toProtoSnapshot(resync(), c.configVersion()), nil
	case *fleetv1.ControlMessage_Config:
		c.apply(body.Config)
		return nil, nil
	case *fleetv1.ControlMessage_WebrtcOffer:
		return &fleetv1.WorkerMessage{Body: &fleetv1.WorkerMessage_CommandResult{CommandResult: &fleetv1.CommandResult{
			CommandId: body.WebrtcOffer.GetCommandId(), Code: codeUnsupported, Message: "webrtc is not enabled on this worker",
		}}}, nil
	case nil:
		return nil, errors.New("empty control message")
	default:
		c.log.Warn("ignoring unknown control message", "type", fmt.Sprintf("%T", body))
		return nil, nil
	}
}

// kick disconnects a client and returns the answer to send.
func (c *Client) kick(k *fleetv1.Kick) *fleetv1.WorkerMessage {
	err := c.deps.Registry.Kick(media.ClientID(k.GetClientId()))
	res := &fleetv1.CommandResult{CommandId: k.GetCommandId(), Code: int32(media.CodeOf(err))}
	if err != nil {
		res.Message = err.Error()
	}
	c.log.Info("kick", "client", k.GetClientId(), "code", res.Code)
	return &fleetv1.WorkerMessage{Body: &fleetv1.WorkerMessage_CommandResult{CommandResult: res}}
}

// trySend hands v over unless ctx ends first.
func trySend[T any](ctx context.Context, ch chan<- T, v T) bool {
	select {
	case ch <- v:
		return true
	case <-ctx.Done():
		return false
	}
}

func (c *Client) configVersion() uint64 {
	c.applyMu.Lock()
	defer c.applyMu.Unlock()
	return c.applied
}

// apply hands a configuration to the worker unless it is the one in force.
// Every replica pushes the same config; only a new version is applied.
func (c *Client) apply(cfg *fleetv1.Config) {
	c.applyMu.Lock()
	defer c.applyMu.Unlock()
	if cfg.GetVersion() == c.applied {
		return
	}
	settings := fromProtoConfig(cfg)
	if c.deps.Apply != nil {
		if err := c.deps.Apply(settings); err != nil {
			c.log.Error("applying control-plane config", "version", cfg.GetVersion(), "err", err)
			return
		}
	}
	c.applied = cfg.GetVersion()
	c.log.Info("applied control-plane config", "version", c.applied)
}
