package cli

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestExprEval(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		stdout   string
		stderr   string
		jsonBody map[string]any
	}{
		{
			name:   "Text",
			args:   []string{"expr", "eval", `Join("@", ToLower([givenName]), "contoso.com")`, "--input", `{"givenName":"Ada"}`},
			stdout: "ada@contoso.com\n",
		},
		{
			name:   "Null",
			args:   []string{"expr", "eval", `[mail]`},
			stdout: "(null)\n",
		},
		{
			name:   "Multi",
			args:   []string{"expr", "eval", `Split([roles], ",")`, "--input", `{"roles":"a,b"}`},
			stdout: "[\"a\",\"b\"]\n",
		},
		{
			name:   "NumbersStayExact",
			args:   []string{"expr", "eval", `DateFromNum([lastLogon])`, "--input", `{"lastLogon":129699324000000000}`},
			stdout: "1/1/2012 11:00:00 PM\n",
		},
		{
			name:     "JSON",
			args:     []string{"expr", "eval", `Coalesce([mail], [userPrincipalName])`, "--input", `{"mail":null,"userPrincipalName":"ada@x.org"}`, "-o", "json"},
			jsonBody: map[string]any{"value": "ada@x.org"},
		},
		{
			name:     "JSONNotFlowed",
			args:     []string{"expr", "eval", `IgnoreFlowIfNullOrEmpty([mail])`, "-o", "json"},
			jsonBody: map[string]any{"value": nil, "flow": false},
		},
		{
			name:   "ParseError",
			args:   []string{"expr", "eval", `Join("@", [a]`},
			code:   2,
			stderr: "roster: expr: 1:14: expected \")\" to close Join( at 1:1, found end of expression\n",
		},
		{
			name:   "CheckError",
			args:   []string{"expr", "eval", `Jion("@", [a])`},
			code:   2,
			stderr: "roster: expr: 1:1: unknown function \"Jion\"\n",
		},
		{
			name: "ParseErrorJSON",
			args: []string{"expr", "eval", `Join("@", Jion([a]))`, "-o", "json"},
			code: 2,
			jsonBody: map[string]any{
				"error":    `expr: 1:11: unknown function "Jion"`,
				"position": map[string]any{"offset": 10.0, "line": 1.0, "column": 11.0},
			},
		},
		{
			name: "EvalErrorJSON",
			args: []string{"expr", "eval", `CDate([d])`, "--input", `{"d":"soon"}`, "-o", "json"},
			code: 1,
			jsonBody: map[string]any{
				"error":    `expr: 1:1: CDate: "soon" is not a date`,
				"position": map[string]any{"offset": 0.0, "line": 1.0, "column": 1.0},
			},
		},
		{
			name:   "BadInput",
			args:   []string{"expr", "eval", `[a]`, "--input", `[1]`},
			code:   2,
			stderr: "roster: --input: want a JSON object: json: cannot unmarshal array into Go value of type expr.MapObject\n",
		},
		{
			name:   "NoExpression",
			args:   []string{"expr", "eval"},
			code:   2,
			stderr: "roster: expr eval takes one expression, got 0 arguments\n",
		},
		{
			name:   "DefaultDomain",
			args:   []string{"expr", "eval", `Join("@", "ada", DefaultDomain())`, "--default-domain", "contoso.com"},
			stdout: "ada@contoso.com\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := Execute(tc.args, &stdout, &stderr)
			require.Equal(t, tc.code, code, stderr.String())
			if tc.jsonBody != nil {
				var got map[string]any
				require.NoError(t, json.Unmarshal(stdout.Bytes(), &got), stdout.String())
				require.Equal(t, tc.jsonBody, got)
			} else {
				require.Equal(t, tc.stdout, stdout.String())
			}
			if tc.stderr != "" {
				require.Equal(t, tc.stderr, stderr.String())
			}
		})
	}
}
