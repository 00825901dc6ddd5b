package registry

// Subscription receives the registry's events in order. When its queue
// overflows it stops receiving events and signals Resync; the consumer then
// calls Resync to get a snapshot and carries on from there.
type Subscription struct {
	r      *Registry
	events chan Event
	resync chan struct{}
	// overflowed is guarded by r.mu.
	overflowed bool
}

// Subscribe returns a subscription with room for queue events, and the
// snapshot its events follow.
func (r *Registry) Subscribe(queue int) (*Subscription, Snapshot) {
	s := &Subscription{r: r, events: make(chan Event, queue), resync: make(chan struct{}, 1)}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subs[s] = struct{}{}
	return s, r.snapshotLocked()
}

// Events delivers events in sequence order.
func (s *Subscription) Events() <-chan Event { return s.events }

// NeedsResync is signalled when events were dropped.
func (s *Subscription) NeedsResync() <-chan struct{} { return s.resync }

// Resync discards queued events and returns a snapshot; the events that
// follow it continue the sequence from the snapshot's Seq.
func (s *Subscription) Resync() Snapshot {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	for len(s.events) > 0 {
		<-s.events
	}
	s.overflowed = false
	return s.r.snapshotLocked()
}

// Close stops the subscription.
func (s *Subscription) Close() {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	delete(s.r.subs, s)
}

// offer is called with r.mu held.
func (s *Subscription) offer(ev Event) {
	if s.overflowed {
		return
	}
	select {
	case s.events <- ev:
	default:
		s.overflowed = true
		select {
		case s.resync <- struct{}{}:
		default:
		}
	}
}
