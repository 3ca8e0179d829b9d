package workspaces

import (
	"math"
	"regexp"
	"strings"
	"unicode"
)

// Redacted stands for a credential removed from a message.
const Redacted = "[REDACTED]"

// knownTokens are the shapes of credentials people paste into workspace files: their prefix is
// kept in the mask (it tells which token it was), the rest is removed.
var knownTokens = regexp.MustCompile(`\b(` +
	`gh[pousr]_|github_pat_|` + // GitHub
	`gl(?:pat|dt|rt|ptt|ft|imt|agent|oas|cbt|soat|ffct)-|` + // GitLab
	`hf_|api_org_|` + // Hugging Face
	`sk-(?:proj-|ant-|svcacct-)?|` + // OpenAI, Anthropic
	`xox[abposre]-|` + // Slack
	`AKIA|ASIA|` + // AWS access key ids
	`eyJ` + // a JWT (base64url of `{"`)
	`)([A-Za-z0-9_\-.]{16,})`)

// longRun is a run of token characters long enough to be a secret; tokenLooking decides.
var longRun = regexp.MustCompile(`[A-Za-z0-9_+=\-]{32,}`)

// LooksLikeCredential reports whether s holds something shaped like a credential: a token with a
// known prefix (ghp_, github_pat_, glpat-, hf_, sk-, xoxb-, AKIA…, a JWT) or a long random-looking
// run of letters and digits. It is conservative the other way round too: Kubernetes names, image
// references, model ids, hex digests and commit hashes are not taken for one.
func LooksLikeCredential(s string) bool { return MaskCredentials(s) != s }

// MaskCredentials replaces what looks like a credential in s (LooksLikeCredential) with its
// known prefix followed by [REDACTED], or [REDACTED] alone.
func MaskCredentials(s string) string {
	s = knownTokens.ReplaceAllStringFunc(s, func(m string) string {
		sub := knownTokens.FindStringSubmatch(m)
		prefix, rest := sub[1], sub[2]
		if !tokenBody(prefix, rest) {
			return m
		}
		return prefix + Redacted
	})
	return longRun.ReplaceAllStringFunc(s, func(m string) string {
		if tokenLooking(m) {
			return Redacted
		}
		return m
	})
}

// tokenBody checks the part after a known prefix: AWS ids are 16 upper-case letters and digits,
// a JWT has three dot-separated parts; the others have letters and digits mixed in a long stretch
// without separators (not words such as "hf_hub_download_timeout" or "sk-phi3-inference-2024").
func tokenBody(prefix, rest string) bool {
	switch prefix {
	case "AKIA", "ASIA":
		return len(rest) >= 16 && strings.ToUpper(rest[:16]) == rest[:16] && !strings.ContainsAny(rest[:16], "_-.")
	case "eyJ":
		return strings.Count(rest, ".") >= 2 || len(rest) >= 32
	}
	digits, letters := 0, 0
	for _, r := range rest {
		switch {
		case unicode.IsDigit(r):
			digits++
		case unicode.IsLetter(r):
			letters++
		}
	}
	longest := 0
	for _, seg := range strings.FieldsFunc(rest, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		longest = max(longest, len(seg))
	}
	return digits > 0 && letters > 0 && longest >= 12
}

// tokenLooking decides whether a long run of token characters is random enough to be a secret:
// upper- and lower-case letters and digits mixed, a long stretch without separators (names are
// made of words joined by '-' or '_'), high character entropy, frequent switches between letter
// cases and digits (words run together switch rarely), and not a hex digest.
func tokenLooking(s string) bool {
	if isHex(s) {
		return false
	}
	var upper, lower, digit bool
	for _, r := range s {
		switch {
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digit = true
		}
	}
	if !upper || !lower || !digit {
		return false
	}
	longest := 0
	for _, seg := range strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '_' }) {
		longest = max(longest, len(seg))
	}
	return longest >= 24 && entropy(s) >= 4.2 && classChanges(s) >= 0.5
}

// classChanges is the share of neighbouring characters that switch between upper case, lower case,
// digits and others: about 0.6 in a random token, under 0.45 in words run together ("CamelCase").
func classChanges(s string) float64 {
	class := func(r rune) int {
		switch {
		case unicode.IsUpper(r):
			return 0
		case unicode.IsLower(r):
			return 1
		case unicode.IsDigit(r):
			return 2
		}
		return 3
	}
	rs := []rune(s)
	n := 0
	for i := 1; i < len(rs); i++ {
		if class(rs[i]) != class(rs[i-1]) {
			n++
		}
	}
	return float64(n) / float64(len(rs)-1)
}

func isHex(s string) bool {
	return strings.Trim(strings.ToLower(s), "0123456789abcdef") == ""
}

// entropy is the Shannon entropy of s in bits per character.
func entropy(s string) float64 {
	counts := map[rune]int{}
	for _, r := range s {
		counts[r]++
	}
	n := float64(len(s))
	h := 0.0
	for _, c := range counts {
		p := float64(c) / n
		h -= p * math.Log2(p)
	}
	return h
}

// maskCredentials is the last line of defence of every Problem: whatever a check quoted, no
// credential-looking text reaches the CLI, the logs or the status branch.
func (ps Problems) maskCredentials() {
	for i := range ps {
		ps[i].Message = MaskCredentials(ps[i].Message)
		ps[i].Field = MaskCredentials(ps[i].Field)
		ps[i].Workspace = MaskCredentials(ps[i].Workspace)
	}
}
