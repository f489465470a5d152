// Package api is dynakv's client-facing HTTP API: the /kv/{key} data routes,
// /healthz and /metrics, and a place to mount more routes (Config.Routes; the
// /cluster/* and /debug/* views come from ClusterRoutes, GET /keys from
// KeysRoute, GET /backup and POST /restore from BackupRoutes).
//
// The package owns HTTP only: it parses and validates keys, per-request
// levels, timeouts, contexts and bodies, calls the KV it is given, and maps
// the answer or error to a status code and a JSON error body. It never
// stores data and never decides placement or quorum; those belong to the
// replica coordinator behind KV.
//
// Statuses, as the contract fixes them:
//
//	200 one value (or JSON with Accept: application/json)
//	204 write or delete applied; X-Context names the new version
//	300 several siblings, JSON
//	304 a read whose If-None-Match names the key's ETag
//	400 bad_request         malformed key, level, timeout, context or query
//	404 not_found           never written, or deleted (then with X-Context)
//	405 method not allowed, with Allow
//	409 too_many_siblings   read the key and write with its context
//	413 too_large           value over Config.MaxValueBytes, or the key's
//	                        siblings would hold more than the replica's
//	                        object size limit
//	503 unavailable         fewer live replicas than the level; nothing written
//	503 overloaded          PUT bodies in flight past Config.MaxInflightBytes
//	                        for the request's timeout; nothing written
//	504 timeout             level not met in time; may be partly applied
//	500 internal            anything else (details only in the server log)
package api
