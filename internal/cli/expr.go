package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rosterhq/roster/internal/provision/expr"
)

func commandExpr() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "expr",
		Short: "Try Entra-style attribute-mapping expressions",
	}
	cmd.AddCommand(commandExprEval())
	return cmd
}

func commandExprEval() *cobra.Command {
	var input, output, defaultDomain string
	cmd := &cobra.Command{
		Use:   "eval EXPRESSION",
		Short: "Parse, check and evaluate an expression against a JSON object",
		Long: `Parse, check and evaluate an attribute-mapping expression in Microsoft Entra's
expression language (docs/expressions.md) against a source object given as JSON,
like Entra's "Test expression":

  roster expr eval 'Join("@", ToLower([givenName]), "contoso.com")' --input '{"givenName":"Ada"}'

Prints the value, "(null)" for no value, or a JSON array for several values.
Exit status 2 when the expression does not parse or check, 1 when evaluation fails.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("expr eval takes one expression, got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageError{fmt.Errorf("--output: want text or json, not %q", output)}
			}
			obj := expr.MapObject{}
			dec := json.NewDecoder(bytes.NewReader([]byte(input)))
			dec.UseNumber()
			if err := dec.Decode(&obj); err != nil {
				return usageError{fmt.Errorf("--input: want a JSON object: %w", err)}
			}
			out := cmd.OutOrStdout()
			n, err := expr.Parse(args[0])
			if err == nil {
				err = expr.Check(n)
			}
			if err != nil {
				if output == "json" {
					writeExprError(cmd, err)
				}
				return usageError{err}
			}
			v, err := expr.Env{DefaultDomain: defaultDomain}.Eval(n, obj)
			if err != nil {
				if output == "json" {
					writeExprError(cmd, err)
				}
				return err
			}
			if output == "json" {
				body := map[string]any{"value": v.JSON()}
				if v.Skip() {
					body["flow"] = false
				}
				return writeJSON(cmd, body)
			}
			_, err = fmt.Fprintln(out, v.String())
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&input, "input", "{}", "the source object as JSON, e.g. '{\"givenName\":\"Ada\",\"proxyAddresses\":[\"a\",\"b\"]}'")
	f.StringVarP(&output, "output", "o", "text", "output format: text or json")
	f.StringVar(&defaultDomain, "default-domain", "", "the value of DefaultDomain()")
	return cmd
}

// writeExprError prints {"error": …, "position": {…}} for -o json; the
// position is there for parse, check and function errors.
func writeExprError(cmd *cobra.Command, err error) {
	body := map[string]any{"error": err.Error()}
	var pe *expr.Error
	var ee *expr.EvalError
	var pos *expr.Pos
	switch {
	case errors.As(err, &pe):
		pos = &pe.Pos
	case errors.As(err, &ee):
		pos = &ee.Pos
	}
	if pos != nil {
		body["position"] = map[string]int{"offset": pos.Offset, "line": pos.Line, "column": pos.Col}
	}
	_ = writeJSON(cmd, body)
}

func writeJSON(cmd *cobra.Command, v any) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}
