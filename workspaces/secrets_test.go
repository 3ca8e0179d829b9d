package workspaces

import (
	"strings"
	"testing"

	"github.com/matryer/is"
)

func TestMaskCredentials(t *testing.T) {
	tests := []struct{ in, want string }{
		// Known token shapes keep their prefix.
		{"ghp_AbCdEf0123456789AbCdEf0123456789AbCd", "ghp_[REDACTED]"},
		{"token gho_16C7e42F292c6912E7710c838347Ae178B4a here", "token gho_[REDACTED] here"},
		{"github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGH0123456789abcd", "github_pat_[REDACTED]"},
		{"glpat-AbCdEf0123456789xyzW", "glpat-[REDACTED]"},
		{`"hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345" is not a valid name`, `"hf_[REDACTED]" is not a valid name`},
		{"sk-proj-AbCdEf0123456789AbCdEf0123456789", "sk-proj-[REDACTED]"},
		{"xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "xoxb-[REDACTED]"},
		{"AKIAIOSFODNN7EXAMPLE", "AKIA[REDACTED]"},
		{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", "eyJ[REDACTED]"},
		// A long random run without a known prefix.
		{"token: Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MEFCQ0RFRkdI", "token: [REDACTED]"},
		{"K8sT0k3nQ9wErTy7UiOpAsDfGhJkLzXcVbNm", "[REDACTED]"},
		// Kept: names, images, model ids, digests, commits, words that start like a prefix.
		{"mcr.microsoft.com/aks/kaito/kaito-base:0.5.0", ""},
		{"myregistry.azurecr.io/adapter-phi3@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", ""},
		{"deepseek-ai/DeepSeek-R1-Distill-Qwen-14B", ""},
		{"mistralai/Mistral-Small-24B-Instruct-2501", ""},
		{"source commit 5e0c3a4b9f1d2e3c4b5a69788796a5b4c3d2e1f0", ""},
		{"workspace-phi-3-mini-adapter-with-a-very-long-name-1234", ""},
		{"hf_hub_download_timeout", ""},
		{"sk-phi3-inference-2024-workspace", ""},
		{"Standard_NC24ads_A100_v4", ""},
		{"inference.preset.presetOptions.modelAccessSecret", ""},
		{"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters", ""},
		{"TheQuickBrownFoxJumpsOverTheLazyDog2024Edition", ""}, // low entropy for its length
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			is := is.New(t)
			want := tt.want
			if want == "" {
				want = tt.in // unchanged
			}
			is.Equal(MaskCredentials(tt.in), want)
			is.Equal(LooksLikeCredential(tt.in), tt.want != "")
		})
	}
}

// A token pasted where a Secret's name belongs, or a bad value in a Secret, is never quoted in a
// problem: the field is named and what is wrong is said. The rest of each problem is unchanged.
func TestSecretValuesAreNeverQuoted(t *testing.T) {
	const hf = "hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345"
	const ghp = "ghp_AbCdEf0123456789AbCdEf0123456789AbCd"
	ws := func(opts string) string {
		return "apiVersion: kaito.sh/v1beta1\nkind: Workspace\nmetadata:\n  name: phi\nresource:\n  instanceType: Standard_NC24ads_A100_v4\n" +
			"  labelSelector:\n    matchLabels: {apps: phi}\ninference:\n  preset:\n    name: phi-3-mini-4k-instruct\n    presetOptions:\n" + opts
	}
	secret := func(data string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata:\n  name: hf-token\n" + data
	}
	tests := []struct {
		name   string
		doc    string
		allow  bool
		want   problemWant
		secret string
	}{
		{"a token as modelAccessSecret", ws("      modelAccessSecret: " + hf + "\n"), false,
			problemWant{sev: Error, field: "inference.preset.presetOptions.modelAccessSecret", line: 13, ws: "default/phi", msg: "this looks like a credential, not the name of a Secret (the value is not shown)"}, hf},
		{"a token as an imagePullSecret", ws("      imagePullSecrets: [" + ghp + "]\n"), false,
			problemWant{sev: Error, field: "inference.preset.presetOptions.imagePullSecrets[0]", line: 13, ws: "default/phi", msg: "this looks like a credential"}, ghp},
		{"a token as imagePullSecrets, not a list", ws("      imagePullSecrets: " + ghp + "\n"), false,
			problemWant{sev: Error, field: "inference.preset.presetOptions.imagePullSecrets", line: 13, ws: "default/phi", msg: "expected a list, got a string (not shown: it may be a credential)"}, ghp},
		{"a Secret's data that is not base64", secret("data:\n  HF_TOKEN: " + hf + "!\n"), true,
			problemWant{sev: Error, field: "data.HF_TOKEN", line: 6, ws: "Secret/default/hf-token", msg: "invalid value a string (not shown: it may be a credential): illegal base64 data"}, hf},
		{"a Secret's stringData that is a number", secret("stringData:\n  PIN: 98765432101234\n"), true,
			problemWant{sev: Error, field: "stringData.PIN", line: 6, ws: "Secret/default/hf-token", msg: "expected a string, got a number (not shown: it may be a credential): quote it"}, "98765432101234"},
		{"a Secret refused: its values are not read", secret("stringData:\n  HF_TOKEN: " + hf + "\n"), false,
			problemWant{sev: Error, field: "kind", line: 1, ws: "Secret/default/hf-token", msg: "plain-text Secrets do not belong in Git"}, hf},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			s := checkYAMLWith(t, map[string]string{"ws.yaml": tt.doc}, Options{AllowSecrets: tt.allow}, CheckOptions{})
			errs := s.Problems.Errors()
			assertProblems(t, errs, []problemWant{tt.want})
			for _, p := range s.Problems {
				is.True(!strings.Contains(p.String(), tt.secret)) // the value is not in the problem
			}
		})
	}
}

// The last line of defence: whatever a check quotes, a credential-looking value in a problem is
// masked (here a token written as a tuning data URL's user name, and in an image reference).
func TestProblemsMaskCredentials(t *testing.T) {
	is := is.New(t)
	const hf = "hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345"
	doc := "apiVersion: kaito.sh/v1beta1\nkind: Workspace\nmetadata:\n  name: phi\nresource:\n  instanceType: Standard_NC24ads_A100_v4\n" +
		"  labelSelector:\n    matchLabels: {apps: phi}\ninference:\n  preset:\n    name: phi-3-mini-4k-instruct\n  adapters:\n" +
		"    - source:\n        name: dolly\n        image: myregistry.azurecr.io/" + hf + ":TAG\n"
	s := checkYAML(t, map[string]string{"ws.yaml": doc})
	is.True(len(s.Problems.Errors()) > 0)
	for _, p := range s.Problems {
		is.True(!strings.Contains(p.String(), hf))
	}
	is.True(strings.Contains(s.Problems.Errors()[0].Message, "hf_[REDACTED]"))
}
