package gossip

import "github.com/hashicorp/memberlist"

// broadcast carries one member entry through memberlist's
// TransmitLimitedQueue. A newer broadcast about the same member replaces an
// older one still queued.
type broadcast struct {
	member string
	msg    []byte
	done   chan struct{} // closed when sent enough times or replaced; may be nil
}

var (
	_ memberlist.Broadcast      = (*broadcast)(nil)
	_ memberlist.NamedBroadcast = (*broadcast)(nil)
)

func (b *broadcast) Name() string { return "member/" + b.member }

func (b *broadcast) Invalidates(other memberlist.Broadcast) bool {
	o, ok := other.(*broadcast)
	return ok && o.member == b.member
}

func (b *broadcast) Message() []byte { return b.msg }

func (b *broadcast) Finished() {
	if b.done != nil {
		close(b.done)
	}
}

// publish queues e for broadcast; done (may be nil) is closed when the
// broadcast is finished.
func (g *Gossip) publish(e entry, done chan struct{}) {
	msg, err := encodeMsg(msgEntries, []entry{e})
	if err != nil {
		g.log.Error("cannot broadcast ring membership change", "member", e.ID, "err", err)
		if done != nil {
			close(done)
		}
		return
	}
	g.queue.QueueBroadcast(&broadcast{member: e.ID, msg: msg, done: done})
}
