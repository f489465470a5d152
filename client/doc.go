// Package client is the Go client of dynakv's HTTP API, as the contract
// describes it: reads, writes and deletes of keys with per-request levels and
// contexts, and the cluster views. The CLI and the load generator use it.
//
// A Client is safe for concurrent use and keeps its connections alive
// between requests. Every answer other than success is an *Error carrying the
// server's status, error code and message.
//
// A typical read-modify-write:
//
//	obj, err := c.Get(ctx, "k", client.Levels{})
//	// ... resolve obj.Siblings into one value ...
//	newCtx, err := c.Put(ctx, "k", value, "text/plain", obj.Context, client.Levels{})
//
// Listing the cluster's keys, page by page:
//
//	for cont := ""; ; {
//		page, err := c.ListKeys(ctx, "user/", 1000, cont)
//		// ... page.Keys ...
//		if cont = page.Continuation; cont == "" {
//			break
//		}
//	}
//
// A node serving HTTPS is reached with an https:// endpoint; WithTLSConfig
// trusts a private certificate authority, and WithToken sends the API token
// a node started with --api-token-file asks for.
package client
