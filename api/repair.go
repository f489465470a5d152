package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// AntiEntropy is what the repair endpoints need from the node: on-demand
// anti-entropy and its progress.
type AntiEntropy interface {
	// Repair schedules an exchange of each partition given (none: every
	// partition this node is a primary of) with the other live primaries,
	// and returns at once with the run to follow. A request the client got
	// wrong (no such partition, a partition this node does not replicate)
	// is an *Error with the status to answer.
	Repair(partitions ...uint32) (RepairRun, error)
	// AntiEntropyStatus reports the trees, exchanges, repairs and reaps.
	AntiEntropyStatus() AntiEntropyStatus
}

// RepairRun is one on-demand repair, as POST /cluster/repair answers it and
// GET /cluster/antientropy lists it.
type RepairRun struct {
	ID           uint64     `json:"id"`
	Partitions   int        `json:"partitions"`    // asked for
	Done         int        `json:"done"`          // exchanged with every live primary
	Failed       int        `json:"failed"`        // gave up (a peer unreachable or still building its tree)
	KeysRepaired int        `json:"keys_repaired"` // differing keys swapped, counted per exchange
	Started      time.Time  `json:"started"`
	Finished     *time.Time `json:"finished,omitempty"` // absent while running
}

// AntiEntropyStatus is GET /cluster/antientropy: this node's hash trees,
// exchanges and tombstone reaps since it started.
type AntiEntropyStatus struct {
	TreeShape        string  `json:"tree_shape"`        // fanout^depth, the same on every node
	Partitions       int     `json:"partitions"`        // this node is a primary of
	TreesBuilt       int     `json:"trees_built"`       // of those, with a hash tree built
	TreesRebuilding  int     `json:"trees_rebuilding"`  // queued for or in a rebuild
	Exchanges        uint64  `json:"exchanges"`         // run by this node
	FailedExchanges  uint64  `json:"failed_exchanges"`  // of those
	KeysRepaired     uint64  `json:"keys_repaired"`     // differing keys those exchanges swapped
	TombstonesReaped uint64  `json:"tombstones_reaped"` // deleted from this node's storage
	TreeRebuilds     uint64  `json:"tree_rebuilds"`
	OldestExchange   float64 `json:"oldest_exchange_age_seconds"` // the partition longest without an exchange
	// Repairs are the latest on-demand repairs, oldest first.
	Repairs []RepairRun `json:"repairs"`
	// PartitionList has one entry per partition this node is a primary of;
	// left out with ?partitions=false.
	PartitionList []PartitionAntiEntropy `json:"partition_list,omitempty"`
}

// PartitionAntiEntropy is one partition's tree and last exchange.
type PartitionAntiEntropy struct {
	Partition        uint32     `json:"partition"`
	TreeBuilt        bool       `json:"tree_built"`
	Keys             int        `json:"keys"`
	Tombstones       int        `json:"tombstones"` // approximate
	LastExchange     *time.Time `json:"last_exchange,omitempty"`
	LastPeer         string     `json:"last_peer,omitempty"`
	LastResult       string     `json:"last_result,omitempty"` // equal, repaired or failed
	LastKeysRepaired int        `json:"last_keys_repaired"`
	LastError        string     `json:"last_error,omitempty"`
}

// RepairRoutes are the anti-entropy routes:
//
//	POST /cluster/repair[?partition=P]  202, the RepairRun started
//	GET  /cluster/antientropy           200, AntiEntropyStatus
func RepairRoutes(ae AntiEntropy, logger *slog.Logger) []Route {
	return []Route{
		{"POST /cluster/repair", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var partitions []uint32
			if s := r.URL.Query().Get("partition"); s != "" {
				p, err := strconv.ParseUint(s, 10, 32)
				if err != nil {
					WriteError(w, badRequest("partition %q: want a partition number (see GET /cluster/preflist/{key} for a key's)", s))
					return
				}
				partitions = append(partitions, uint32(p))
			}
			run, err := ae.Repair(partitions...)
			if err != nil {
				WriteError(w, repairError(err, logger))
				return
			}
			WriteJSON(w, http.StatusAccepted, repairAccepted{
				Status:    "repairing",
				RepairRun: run,
				Message: fmt.Sprintf("exchanging %d partitions with their other primaries in the background; follow repair %d in GET /cluster/antientropy",
					run.Partitions, run.ID),
			})
		})},
		{"GET /cluster/antientropy", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			st := ae.AntiEntropyStatus()
			if r.URL.Query().Get("partitions") == "false" {
				st.PartitionList = nil
			}
			if st.Repairs == nil {
				st.Repairs = []RepairRun{}
			}
			WriteJSON(w, http.StatusOK, st)
		})},
	}
}

// repairAccepted is the 202 answer of POST /cluster/repair.
type repairAccepted struct {
	Status string `json:"status"`
	RepairRun
	Message string `json:"message"`
}

// repairError answers a refused repair: the client's mistakes come as
// *Error, anything else is logged and answered 500.
func repairError(err error, logger *slog.Logger) *Error {
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	logger.Error("repair request failed", "err", err)
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: internalMessage}
}
