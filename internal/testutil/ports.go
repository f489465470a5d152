package testutil

import (
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
)

// FreeLoopbackAddr returns a loopback address whose port is free for both
// TCP and UDP (gossip binds both), for a test that must name a port before
// the node binds it. It picks from below the kernel's ephemeral range, so
// the ports that tests running meanwhile bind with port 0 never take it
// between this check and the bind.
func FreeLoopbackAddr(t testing.TB) string {
	t.Helper()
	for range 1000 {
		addr := fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12000))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		u, err := net.ListenPacket("udp", addr)
		l.Close()
		if err != nil {
			continue
		}
		u.Close()
		return addr
	}
	t.Fatal("no free loopback port below the ephemeral range")
	return ""
}
