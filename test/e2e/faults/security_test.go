package faults

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"

	"github.com/matryer/is"
)

// The webhook compares secrets in constant time, so response timing cannot reveal how much of a
// forged signature or token was right. Timing cannot be measured reliably in a test; the code can
// be read: every use of the secret must go straight into hmac.New, subtle.ConstantTimeCompare or
// len, the signature check through hmac.Equal, and the body read through http.MaxBytesReader. A
// change to ==, bytes.Equal or an unbounded read fails here. (The behaviour — signatures, tokens,
// the body limit — is sync/trigger's TestWebhook and TestWebhookBodyLimit, and the forged delivery
// of TestSecretsNeverLogged.)
func TestWebhookComparesSecretsInConstantTime(t *testing.T) {
	is := is.New(t)
	bad, calls := secretUses(t, "../../../sync/trigger/webhook.go", nil)
	for _, b := range bad {
		t.Errorf("%s: the secret is used outside a constant-time comparison", b)
	}
	is.True(calls["hmac.Equal"] > 0)                  // the GitHub signature
	is.True(calls["subtle.ConstantTimeCompare"] >= 2) // the GitLab and bearer tokens
	is.True(calls["http.MaxBytesReader"] > 0)         // a bounded body
	is.Equal(calls["bytes.Equal"], 0)

	// The check itself catches what it is for.
	for _, src := range []string{
		`package p; func f(h *W, tok string) bool { return tok == string(h.Secret) }`,
		`package p; func f(h *W, got []byte) bool { return bytes.Equal(got, h.Secret) }`,
	} {
		bad, _ := secretUses(t, "snippet.go", src)
		is.Equal(len(bad), 1) // a non-constant-time comparison is found
	}
}

// secretUses parses a Go file and returns the places where a .Secret field is used other than as
// a direct argument of hmac.New, subtle.ConstantTimeCompare or len, and the count of each
// package-qualified call.
func secretUses(t *testing.T, file string, src any) (bad []string, calls map[string]int) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	calls = map[string]int{}
	qualified := func(e ast.Expr) string {
		if sel, ok := e.(*ast.SelectorExpr); ok {
			if pkg, ok := sel.X.(*ast.Ident); ok {
				return pkg.Name + "." + sel.Sel.Name
			}
		}
		if id, ok := e.(*ast.Ident); ok {
			return id.Name
		}
		return ""
	}
	var stack []ast.Node
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		stack = append(stack, n)
		switch n := n.(type) {
		case *ast.CallExpr:
			calls[qualified(n.Fun)]++
		case *ast.SelectorExpr:
			if n.Sel.Name != "Secret" {
				return true
			}
			ok := false
			for i := len(stack) - 2; i >= 0; i-- { // the nearest call around the use decides
				if call, isCall := stack[i].(*ast.CallExpr); isCall {
					name := qualified(call.Fun)
					ok = name == "hmac.New" || name == "subtle.ConstantTimeCompare" || name == "len"
					break
				}
				if _, isCmp := stack[i].(*ast.BinaryExpr); isCmp {
					break
				}
			}
			if !ok {
				bad = append(bad, fset.Position(n.Pos()).String())
			}
		}
		return true
	})
	return bad, calls
}
