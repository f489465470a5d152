package client_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"dynakv/api"
	"dynakv/client"
	"dynakv/replica"
	"dynakv/versioning"
)

// clusterServer answers the cluster routes with the contract's shapes.
func clusterServer(t *testing.T) (*client.Client, *[]string) {
	t.Helper()
	var calls []string
	mux := http.NewServeMux()
	answer := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			calls = append(calls, r.Method+" "+r.URL.EscapedPath())
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(body))
		}
	}
	mux.Handle("GET /cluster/members", answer(`[{"id":"n1","http_addr":"127.0.0.1:8080","gossip_addr":"127.0.0.1:7946","status":"alive","in_ring":true},{"id":"n2","status":"dead","in_ring":true,"extra":1}]`))
	mux.Handle("GET /cluster/ring", answer(`{"n":3,"replicas":1,"partitions":1024,"members":[{"id":"n1","partitions":1024,"share":1,"replicas":1024}]}`))
	mux.Handle("GET /cluster/preflist/{key...}", answer(`{"key":"a/b","partition":17,"primaries":[{"id":"n1","status":"alive"}],"fallbacks":[{"id":"n4","status":"suspect"}]}`))
	mux.Handle("GET /debug/replicas/{key...}", answer(`{"key":"k","partition":17,"replicas":[{"node":"n1","role":"primary","status":"ok","siblings":[{"value":"aGk=","content_type":"text/plain","deleted":false}],"context":"c"}]}`))
	accepted := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			calls = append(calls, r.Method+" "+r.URL.EscapedPath())
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte(body))
		}
	}
	mux.Handle("POST /cluster/leave", accepted(`{"status":"leaving","message":"handing data to the new owners"}`))
	mux.Handle("POST /cluster/remove/{id}", accepted(`{"status":"removed","id":"n 2","message":"out of the ring"}`))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return c, &calls
}

func TestClusterCalls(t *testing.T) {
	c, calls := clusterServer(t)
	ctx := context.Background()

	members, err := c.Members(ctx)
	if err != nil || len(members) != 2 || members[0] != (client.Member{ID: "n1", HTTPAddr: "127.0.0.1:8080", GossipAddr: "127.0.0.1:7946", Status: "alive", InRing: true}) {
		t.Errorf("Members = %+v, %v", members, err)
	}
	ring, err := c.Ring(ctx)
	if err != nil || ring.N != 3 || ring.Partitions != 1024 || ring.Members[0] != (client.RingMember{ID: "n1", Partitions: 1024, Share: 1, Replicas: 1024}) {
		t.Errorf("Ring = %v, %v", ring, err)
	}
	pl, err := c.Preflist(ctx, "a/b")
	if err != nil || pl.Partition != 17 || pl.Primaries[0].ID != "n1" || pl.Fallbacks[0].Status != "suspect" {
		t.Errorf("Preflist = %+v, %v", pl, err)
	}
	rv, err := c.Replicas(ctx, "k")
	if err != nil || len(rv.Replicas) != 1 || string(rv.Replicas[0].Siblings[0].Value) != "hi" {
		t.Errorf("Replicas = %+v, %v", rv, err)
	}
	if a, err := c.Leave(ctx); err != nil || a.Status != "leaving" || a.Message == "" {
		t.Errorf("Leave = %+v, %v; want the server's status and message", a, err)
	}
	if a, err := c.Remove(ctx, "n 2"); err != nil || a.Status != "removed" || a.ID != "n 2" {
		t.Errorf("Remove = %+v, %v; want the server's status and id", a, err)
	}
	want := []string{"GET /cluster/members", "GET /cluster/ring", "GET /cluster/preflist/a/b", "GET /debug/replicas/k", "POST /cluster/leave", "POST /cluster/remove/n%202"}
	if len(*calls) != len(want) {
		t.Fatalf("calls %q, want %q", *calls, want)
	}
	for i := range want {
		if (*calls)[i] != want[i] {
			t.Errorf("call %d: %q, want %q", i, (*calls)[i], want[i])
		}
	}
}

func TestClusterCallErrors(t *testing.T) {
	c, _ := clusterServer(t)
	// This server has no health route: a 404 surfaces as an error.
	err := c.Health(context.Background())
	if e, ok := errors.AsType[*client.Error](err); !ok || e.Status != http.StatusNotFound {
		t.Errorf("Health against a server without /healthz: %v, want a 404 *client.Error", err)
	}
}

// fakeCluster is the server side of the cluster views, so that the client's
// types are checked against what api.ClusterRoutes really encodes.
type fakeCluster struct{ removed string }

func (*fakeCluster) Members() []api.Member {
	return []api.Member{{ID: "n1", HTTPAddr: "h:1", GossipAddr: "h:2", RPCAddr: "h:3", Status: "alive", InRing: true}}
}

func (*fakeCluster) Ring() api.RingInfo {
	return api.RingInfo{N: 3, Replicas: 1, Partitions: 8, Members: []api.RingMember{{ID: "n1", Partitions: 8, Share: 1, Replicas: 8}}}
}

func (*fakeCluster) Preflist(key []byte) api.Preflist {
	return api.Preflist{Key: string(key), Partition: 5, Primaries: []api.NodeStatus{{ID: "n1", Status: "alive"}}, Fallbacks: []api.NodeStatus{}}
}

func (*fakeCluster) Replicas(_ context.Context, key []byte) api.ReplicasView {
	return api.ReplicasView{Key: string(key), Partition: 5, Replicas: []api.ReplicaView{{
		Node: "n1", Role: "primary", Status: "ok", Context: "c",
		Siblings: []api.SiblingBody{{Value: []byte("hi"), ContentType: "text/plain"}},
	}}}
}

func (*fakeCluster) Leave() error             { return nil }
func (f *fakeCluster) Remove(id string) error { f.removed = id; return nil }

func TestClientTypesMatchTheServers(t *testing.T) {
	fc := &fakeCluster{}
	h, err := api.NewHandler(api.Config{KV: stubKV{}, Routes: api.ClusterRoutes(fc, slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	c, _ := client.New(srv.URL)
	ctx := context.Background()

	members, err := c.Members(ctx)
	if err != nil || len(members) != 1 || members[0] != (client.Member{ID: "n1", HTTPAddr: "h:1", GossipAddr: "h:2", RPCAddr: "h:3", Status: "alive", InRing: true}) {
		t.Errorf("Members = %+v, %v", members, err)
	}
	ring, err := c.Ring(ctx)
	if err != nil || ring.N != 3 || ring.Replicas != 1 || ring.Partitions != 8 || ring.Members[0] != (client.RingMember{ID: "n1", Partitions: 8, Share: 1, Replicas: 8}) {
		t.Errorf("Ring = %+v, %v", ring, err)
	}
	pl, err := c.Preflist(ctx, "a//b/..")
	if err != nil || pl.Key != "a//b/.." || pl.Partition != 5 || pl.Primaries[0] != (client.PreflistNode{ID: "n1", Status: "alive"}) {
		t.Errorf("Preflist = %+v, %v", pl, err)
	}
	rv, err := c.Replicas(ctx, "k")
	if err != nil || rv.Key != "k" || len(rv.Replicas) != 1 || string(rv.Replicas[0].Siblings[0].Value) != "hi" || rv.Replicas[0].Role != "primary" {
		t.Errorf("Replicas = %+v, %v", rv, err)
	}
	if a, err := c.Leave(ctx); err != nil || a.Status != "leaving" || a.Message == "" {
		t.Errorf("Leave = %+v, %v; want the server's answer", a, err)
	}
	if a, err := c.Remove(ctx, "n9"); err != nil || fc.removed != "n9" || a.ID != "n9" {
		t.Errorf("Remove = %+v, %v, server saw %q", a, err, fc.removed)
	}
}

// stubKV is a KV the cluster routes never call.
type stubKV struct{}

func (stubKV) Get(context.Context, []byte, replica.ReadOptions) (*versioning.Set, error) {
	return nil, nil
}

func (stubKV) Put(context.Context, []byte, replica.Write, replica.WriteOptions) (*versioning.Set, error) {
	return nil, nil
}

func (stubKV) N() int { return 1 }
