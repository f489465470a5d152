package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"dynakv/client"
)

// valueWidth is how many characters of a value the text view shows.
const valueWidth = 60

func newReplicasCmd() *cobra.Command {
	var ef endpointFlags
	cmd := &cobra.Command{
		Use:   "replicas KEY",
		Short: "Show what each replica stores for a key, unmerged (debug)",
		Long: `Show GET /debug/replicas/KEY: what each node of the key's preference list
(and each fallback holding a hint for it) stores for KEY, read directly from
that node, without merging or repairing anything. This is the view for
partition experiments: after a partition heals, watch the replicas converge.

For each node: its role (primary, or fallback holding a hint), the status of
the read (ok, not_found, unreachable, timeout or error), its context, and its
siblings. A value is shown as quoted text when it is printable UTF-8, as
base64 otherwise, cut to 60 characters; tombstones show as (deleted).
JSON output (-o json) is the server's object, with values in base64.`,
		Example: `  dynakv replicas user/42
  dynakv replicas -o json user/42 | jq -r '.replicas[] | "\(.node) \(.status) \(.siblings | length)"'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := ef.client()
			if err != nil {
				return err
			}
			view, err := c.Replicas(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if ef.json() {
				return printJSON(cmd.OutOrStdout(), view)
			}
			return printReplicas(cmd.OutOrStdout(), view)
		},
	}
	ef.register(cmd)
	return cmd
}

// printReplicas prints one line per node, then its siblings indented below.
func printReplicas(w io.Writer, view *client.ReplicaView) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Key:        %q\nPartition:  %d\n\n", view.Key, view.Partition)
	var nodeW, roleW, statusW int
	for _, r := range view.Replicas {
		nodeW, roleW, statusW = max(nodeW, len(r.Node)), max(roleW, len(r.Role)), max(statusW, len(r.Status))
	}
	for _, r := range view.Replicas {
		line := fmt.Sprintf("%-*s  %-*s  %-*s", nodeW, r.Node, roleW, r.Role, statusW, r.Status)
		switch {
		case r.Error != "":
			line += "  " + r.Error
		case r.Status == "ok":
			line += fmt.Sprintf("  %d sibling%s  context: %s", len(r.Siblings), plural(len(r.Siblings)), orDash(r.Context))
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
		for i, s := range r.Siblings {
			fmt.Fprintf(&b, "%*s  %d. %s\n", nodeW, "", i+1, describeSibling(s))
		}
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// describeSibling is one sibling on one line: its value (text or base64,
// cut to valueWidth), content type and size.
func describeSibling(s client.Sibling) string {
	if s.Deleted {
		return "(deleted)"
	}
	return fmt.Sprintf("%s  (%s, %d bytes)", displayValue(s.Value), orDash(s.ContentType), len(s.Value))
}

// displayValue shows v as quoted text when it is printable UTF-8 (newlines
// and tabs allowed, shown escaped), else as base64; either cut to valueWidth.
func displayValue(v []byte) string {
	if isPrintable(v) {
		s := string(v)
		if utf8.RuneCountInString(s) > valueWidth {
			return strconv.Quote(string([]rune(s)[:valueWidth])) + "…"
		}
		return strconv.Quote(s)
	}
	enc := base64.StdEncoding.EncodeToString(v)
	if len(enc) > valueWidth {
		enc = enc[:valueWidth] + "…"
	}
	return "base64:" + enc
}

func isPrintable(v []byte) bool {
	if !utf8.Valid(v) {
		return false
	}
	for _, r := range string(v) {
		if !unicode.IsPrint(r) && r != '\n' && r != '\t' && r != '\r' {
			return false
		}
	}
	return true
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
