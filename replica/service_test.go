package replica_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"dynakv/hints"
	"dynakv/replica"
	"dynakv/storage"
	"dynakv/transport/memnet"
	"dynakv/versioning"
)

// hintTargetDown is the Liveness of a hint manager whose targets are all
// down, so it delivers nothing while a test looks at what it holds.
type hintTargetDown struct{}

func (hintTargetDown) Alive(string) bool { return false }

// noDelivery fails every delivery; with every target down it is never called.
type noDelivery struct{}

func (noDelivery) Replicate(context.Context, string, uint32, []byte, *versioning.Set) error {
	return errors.New("no delivery in this test")
}

// openHints returns a started hint manager for node id over a real store.
func openHints(t *testing.T, id string, maxPendingBytes int64) *hints.Manager {
	t.Helper()
	opts := storage.DefaultOptions(t.TempDir(), id)
	opts.Sync = false
	opts.Logger = slog.New(slog.DiscardHandler)
	st, err := storage.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() }) // runs after the manager's Close
	m, err := hints.New(hints.Config{
		Store:           st,
		Transport:       noDelivery{},
		Liveness:        hintTargetDown{},
		MaxPendingBytes: maxPendingBytes,
		Logger:          slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	m.Start()
	return m
}

// hintState is a state with one sibling, written blind by actor n9.
func hintState(t *testing.T, value string) *versioning.Set {
	t.Helper()
	ev := versioning.Event{Dot: versioning.Dot{Actor: versioning.NewActor("n9", 1), Counter: 1}, Modified: 1_700_000_000_000_000}
	s, err := (*versioning.Set)(nil).Update(nil, ev, versioning.Sibling{Value: []byte(value), ContentType: "text/plain"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPeerServiceStoresAndReportsHints(t *testing.T) {
	svc := replica.PeerService{Hints: openHints(t, "n1", 0)}
	ctx := context.Background()
	state := hintState(t, "v")

	if held, err := svc.HeldHints(ctx, 7, []byte("k")); err != nil || len(held) != 0 {
		t.Fatalf("HeldHints before any hint = %v, %v; want none", held, err)
	}
	if err := svc.StoreHint(ctx, "n2", 7, []byte("k"), state); err != nil {
		t.Fatalf("StoreHint: %v", err)
	}
	if err := svc.StoreHint(ctx, "n3", 7, []byte("other"), state); err != nil {
		t.Fatalf("StoreHint: %v", err)
	}
	held, err := svc.HeldHints(ctx, 7, []byte("k"))
	if err != nil || len(held) != 1 || !held["n2"].Equal(state) {
		t.Fatalf("HeldHints = %v, %v; want n2: %+v", held, err, state)
	}
	if err := svc.StoreHint(ctx, "n1", 7, []byte("k"), state); !errors.Is(err, hints.ErrSelfTarget) {
		t.Errorf("StoreHint for the holder itself: err = %v, want ErrSelfTarget", err)
	}
}

// Over the in-memory network, as a coordinator calls a fallback: a stored
// hint is reported back, and a refusal arrives as an error that is not
// unreachable, with the manager's message.
func TestPeerServiceHintsOverTheNetwork(t *testing.T) {
	net := memnet.New()
	net.Register("n1", replica.PeerService{Hints: openHints(t, "n1", 0)})
	net.Register("n2", replica.PeerService{Hints: openHints(t, "n2", 1)}) // full after one byte
	net.Register("n3", replica.PeerService{})
	tr := net.Transport("n0")
	ctx := context.Background()
	state := hintState(t, "v")

	if err := tr.StoreHint(ctx, "n1", "n4", 7, []byte("k"), state); err != nil {
		t.Fatalf("StoreHint on n1: %v", err)
	}
	held, err := tr.HeldHints(ctx, "n1", 7, []byte("k"))
	if err != nil || len(held) != 1 || !held["n4"].Equal(state) {
		t.Fatalf("HeldHints from n1 = %v, %v; want n4: %+v", held, err, state)
	}

	err = tr.StoreHint(ctx, "n2", "n4", 7, []byte("k"), state)
	if err == nil || replica.IsUnreachable(err) || !strings.Contains(err.Error(), hints.ErrOverCap.Error()) {
		t.Errorf("StoreHint on a full n2: err = %v; want the over-cap refusal, not unreachable", err)
	}

	for name, err := range map[string]error{
		"StoreHint": tr.StoreHint(ctx, "n3", "n4", 7, []byte("k"), state),
		"HeldHints": func() error { _, err := tr.HeldHints(ctx, "n3", 7, []byte("k")); return err }(),
	} {
		if err == nil || replica.IsUnreachable(err) || !strings.Contains(err.Error(), "this node keeps no hints") {
			t.Errorf("%s on a node without hints: err = %v", name, err)
		}
	}
}
