// Package backup owns the backup file format: a stream of records, each a
// key and its versions (the versioning package's encoding of the key's
// siblings and clock, as the cluster held them), between a header and a
// trailer that counts them.
//
// A backup is logical, as Riak's was: it holds keys and their causal
// history, not a node's data folder. Restoring it merges each key's
// versions into the cluster like any replica's state, so it mints no dot
// and cannot reuse one (the reason a copied data folder must never be put
// back, see the README), and nothing written since the backup is lost.
//
// # What backup must never do
//
// It never talks to a node, never opens files (it reads and writes the
// io.Reader and io.Writer it is given) and never interprets a record's
// versions: the node that restores them decodes and checks them.
//
// # Format, version 1
//
//	header   "DYNAKVBK" 0x01
//	record   0x01, uvarint key length, key, uvarint versions length,
//	         versions, CRC-32C (little endian) of the record's bytes so far
//	trailer  0x00, uvarint record count, CRC-32C of the trailer's bytes so far
//
// A file that ends before its trailer is truncated (ErrTruncated): a backup
// whose writer was interrupted is never mistaken for a complete one.
package backup
