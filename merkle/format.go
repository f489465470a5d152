package merkle

// formatVersion is the first byte of every encoding in this package: the
// tree snapshot, Request, Response and Listing.
//
// It names the hash functions as well as the byte layouts: VersionHash, the
// item hash of a (key, version) pair and the bucket of a key. Trees built
// with different hash functions differ in every bucket, so comparing them
// would list every key of the partition as different. Changing any hash
// function, or any layout, therefore takes a new format version, and a
// build that meets an unknown one refuses it with ErrIncompatible.
//
// WARNING: never reuse a retired version number.
const formatVersion = 1

// Message type tags, the second byte of every encoding, so that bytes of
// one kind never decode as another.
const (
	tagTree     = 't'
	tagRequest  = 'q'
	tagResponse = 'r'
	tagListing  = 'l'
)
