package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"dynakv/client"
)

func newGetCmd() *cobra.Command {
	var (
		ef endpointFlags
		lf levelFlags
	)
	cmd := &cobra.Command{
		Use:   "get KEY",
		Short: "Read a key",
		Long: `Read KEY.

Text output: stdout carries the value alone, byte for byte, so that
"dynakv get k > file" stores it. When concurrent writes left several
siblings, stdout lists each one, numbered, with its content type. The context
(what "put --context" or "delete --context" takes to supersede this read) is
printed on stderr as "context: ...".

JSON output (-o json): the API's shape, {"context": ..., "siblings":
[{"value": <base64>, "content_type": ..., "deleted": false}]}.

A key that was never written or is deleted exits non-zero; a deleted key
still prints its context (in JSON, with no siblings), so a later put can
supersede the delete.`,
		Example: `  dynakv get greeting
  dynakv get -c one greeting
  dynakv get -o json greeting | jq -r .context`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := ef.client()
			if err != nil {
				return err
			}
			lv, err := lf.levels()
			if err != nil {
				return err
			}
			obj, err := c.Get(cmd.Context(), args[0], lv)
			if err != nil {
				return err
			}
			if err := printObject(cmd, &ef, obj); err != nil {
				return err
			}
			switch {
			case obj.Deleted:
				return fmt.Errorf("key %q is deleted", args[0])
			case !obj.Found:
				return fmt.Errorf("key %q not found", args[0])
			}
			return nil
		},
	}
	ef.register(cmd)
	lf.register(cmd)
	return cmd
}

// printObject prints what a read found, in the chosen output format.
func printObject(cmd *cobra.Command, ef *endpointFlags, obj *client.Object) error {
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if ef.json() {
		if !obj.Found && !obj.Deleted {
			return nil
		}
		siblings := obj.Siblings
		if siblings == nil {
			siblings = []client.Sibling{}
		}
		return printJSON(out, struct {
			Context  string           `json:"context"`
			Siblings []client.Sibling `json:"siblings"`
		}{obj.Context, siblings})
	}
	if obj.Context != "" {
		if _, err := fmt.Fprintf(errOut, "context: %s\n", obj.Context); err != nil {
			return err
		}
	}
	if !obj.Found {
		return nil
	}
	if v, ok := obj.Value(); ok {
		return writeValue(out, v)
	}
	return printSiblings(out, obj.Siblings)
}

// writeValue writes a value byte for byte, adding a final newline only on a
// terminal so that the shell prompt does not run into it.
func writeValue(w io.Writer, v []byte) error {
	if _, err := w.Write(v); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	if isTerminal(w) && len(v) > 0 && v[len(v)-1] != '\n' {
		_, _ = io.WriteString(w, "\n")
	}
	return nil
}

// printSiblings lists several siblings, numbered, for a person to resolve.
func printSiblings(w io.Writer, sibs []client.Sibling) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d siblings (concurrent writes); put the resolved value with --context to replace them all:\n", len(sibs))
	for i, s := range sibs {
		fmt.Fprintf(&b, "--- sibling %d of %d (%s, %d bytes)\n", i+1, len(sibs), s.ContentType, len(s.Value))
		switch {
		case !utf8.Valid(s.Value):
			b.WriteString("(binary value; use -o json to get its bytes)\n")
		case len(s.Value) == 0 || s.Value[len(s.Value)-1] == '\n':
			b.Write(s.Value)
		default:
			b.Write(s.Value)
			b.WriteByte('\n')
		}
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
