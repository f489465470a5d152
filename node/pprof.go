package node

import (
	"net/http"
	"net/http/pprof"

	"dynakv/api"
)

// pprofRoutes serves Go's profiler under /debug/pprof/ (--pprof). Off by
// default: a profile costs CPU, and its output describes the process.
func pprofRoutes() []api.Route {
	return []api.Route{
		{Pattern: "GET /debug/pprof/", Handler: http.HandlerFunc(pprof.Index)},
		{Pattern: "GET /debug/pprof/cmdline", Handler: http.HandlerFunc(pprof.Cmdline)},
		{Pattern: "GET /debug/pprof/profile", Handler: http.HandlerFunc(pprof.Profile)},
		{Pattern: "GET /debug/pprof/symbol", Handler: http.HandlerFunc(pprof.Symbol)},
		{Pattern: "GET /debug/pprof/trace", Handler: http.HandlerFunc(pprof.Trace)},
	}
}
