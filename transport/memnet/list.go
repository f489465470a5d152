package memnet

import (
	"bytes"
	"context"
	"fmt"

	"dynakv/replica"
)

// ListKeys passes through the faults like every call; the query and the
// page are copied, so no memory is shared between nodes.
func (t *nodeTransport) ListKeys(ctx context.Context, node string, partition uint32, q replica.ListQuery) (replica.ListPage, error) {
	d, err := t.net.deliver(ctx, t.from, node, OpListKeys)
	if err != nil {
		return replica.ListPage{}, fmt.Errorf("list keys of partition %d on %s: %w", partition, node, err)
	}
	q.After, q.Prefix = bytes.Clone(q.After), bytes.Clone(q.Prefix)
	hctx, cancel := detach(ctx)
	defer cancel()
	page, err := d.handler.ListKeys(hctx, partition, q)
	if err != nil {
		return replica.ListPage{}, fmt.Errorf("list keys of partition %d on %s: %w", partition, node, wire(err))
	}
	keys := make([][]byte, len(page.Keys))
	for i, k := range page.Keys {
		keys[i] = bytes.Clone(k)
	}
	page.Keys, page.Last = keys, bytes.Clone(page.Last)
	return page, nil
}
