package main

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"dynakv/client"
	"dynakv/internal/pemfile"
)

// endpointFlags are the flags of every command that talks to a node:
// data commands and cluster commands alike.
type endpointFlags struct {
	endpoint string
	output   string
	connFlags
}

func (f *endpointFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.endpoint, "endpoint", "e", client.DefaultEndpoint, "API address of any node, host:port or URL (env DYNAKV_ENDPOINT)")
	f.connFlags.register(cmd)
	fl.StringVarP(&f.output, "output", "o", "text", "output format: text or json")
}

// client checks the flags and returns a client of the endpoint.
func (f *endpointFlags) client() (*client.Client, error) {
	c, _, err := f.clientAndOptions()
	return c, err
}

// clientAndOptions is client, with the options it was made with, for
// commands that reach other nodes the same way.
func (f *endpointFlags) clientAndOptions() (*client.Client, []client.Option, error) {
	if f.output != "text" && f.output != "json" {
		return nil, nil, fmt.Errorf("--output %q: use text or json", f.output)
	}
	opts, err := f.options("dynakv-cli")
	if err != nil {
		return nil, nil, err
	}
	c, err := client.New(f.endpoint, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("--endpoint: %w", err)
	}
	return c, opts, nil
}

// connFlags are how commands reach nodes that ask for more than plain
// HTTP: a certificate authority for https endpoints, a token.
type connFlags struct {
	caCert string
	token  string
}

func (f *connFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.caCert, "ca-cert", "", "PEM file of the certificate authority that signed the nodes' certificates, for https endpoints (env DYNAKV_CA_CERT; default: the system's)")
	cmd.Flags().StringVar(&f.token, "token", "", "API token, for nodes started with --api-token-file (env DYNAKV_TOKEN)")
}

// options returns the client options for userAgent and the flags.
func (f *connFlags) options(userAgent string) ([]client.Option, error) {
	opts := []client.Option{client.WithUserAgent(userAgent)}
	if f.token != "" {
		opts = append(opts, client.WithToken(f.token))
	}
	if f.caCert == "" {
		return opts, nil
	}
	pool, err := pemfile.CertPool("--ca-cert", f.caCert)
	if err != nil {
		return nil, err
	}
	return append(opts, client.WithTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})), nil
}

func (f *endpointFlags) json() bool { return f.output == "json" }

// checkPerRequest checks a flag that sets how many keys one request takes.
func checkPerRequest(flag string, v, limit int) error {
	if v < 1 || v > limit {
		return fmt.Errorf("--%s %d: use 1 to %d keys per request", flag, v, limit)
	}
	return nil
}

// printJSON writes v as one line of JSON, for scripts (jq, read).
func printJSON(w io.Writer, v any) error {
	if err := json.NewEncoder(w).Encode(v); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// printContext reports the context of a write: on stderr as "context: …" in
// text mode (stdout carries only values), as {"context": …} in JSON mode.
func (f *endpointFlags) printContext(cmd *cobra.Command, ctx string) error {
	if f.json() {
		return printJSON(cmd.OutOrStdout(), map[string]string{"context": ctx})
	}
	_, err := fmt.Fprintf(cmd.ErrOrStderr(), "context: %s\n", ctx)
	return err
}

// levelFlags are the per-request consistency flags of the data commands.
type levelFlags struct {
	consistency  string
	r, w, pr, pw string
	timeout      time.Duration
}

func (f *levelFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.consistency, "consistency", "c", "", "one, quorum or all: sets --r and --w (default: the server's, quorum)")
	fl.StringVar(&f.r, "r", "", "replies a read needs: one, quorum, all or 1..N (overrides --consistency)")
	fl.StringVar(&f.w, "w", "", "acks a write needs: one, quorum, all or 1..N (overrides --consistency)")
	fl.StringVar(&f.pr, "pr", "", "of the replies, how many must come from primaries: 0, one, quorum, all or a number")
	fl.StringVar(&f.pw, "pw", "", "of the acks, how many must come from primaries: 0, one, quorum, all or a number")
	fl.DurationVar(&f.timeout, "timeout", 0, "how long the coordinator waits for replicas, e.g. 250ms or 2s (default: the server's)")
}

// levels checks the flags and returns the levels to send. The server
// validates the values against N; only --consistency is checked here.
func (f *levelFlags) levels() (client.Levels, error) {
	lv := client.Levels{R: f.r, W: f.w, PR: f.pr, PW: f.pw, Timeout: f.timeout}
	if f.timeout < 0 {
		return lv, fmt.Errorf("--timeout %v: use a positive duration", f.timeout)
	}
	switch c := strings.ToLower(f.consistency); c {
	case "":
	case "one", "quorum", "all":
		if lv.R == "" {
			lv.R = c
		}
		if lv.W == "" {
			lv.W = c
		}
	default:
		return lv, fmt.Errorf("--consistency %q: use one, quorum or all (or --r and --w for numbers)", f.consistency)
	}
	return lv, nil
}
