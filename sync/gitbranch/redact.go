package gitbranch

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// redacted stands for a credential removed from a URL's query.
const redacted = "REDACTED"

// RedactURL removes credentials from a URL before it is printed, logged, used in a label or
// written on the status branch: the user information whole (a token written as the user name, as
// GitHub and GitLab accept it, as well as user:password) and the values of query parameters whose
// names say they are credentials (token, private_token, access_token, password, secret, key, sig,
// signature, auth…, in any case). It works on the text, so a URL that does not parse is redacted
// too, and what it keeps is byte for byte what was given.
func RedactURL(raw string) string {
	rest, frag, hasFrag := strings.Cut(raw, "#")
	rest, query, hasQuery := strings.Cut(rest, "?")
	if scheme, after, ok := strings.Cut(rest, "://"); ok {
		authority, p := after, ""
		if i := strings.IndexByte(after, '/'); i >= 0 {
			authority, p = after[:i], after[i:]
		}
		if at := strings.LastIndexByte(authority, '@'); at >= 0 {
			authority = authority[at+1:]
		}
		rest = scheme + "://" + authority + p
	} else if at := strings.IndexByte(rest, '@'); at >= 0 && scpUser(rest[:at]) {
		// scp-like SSH (user@host:path): the user is a login ("git"), not a secret; anything that
		// does not look like a login (a token pasted there) is dropped.
		if !sshLogin.MatchString(rest[:at]) {
			rest = rest[at+1:]
		}
	}
	if hasQuery {
		rest += "?" + redactQuery(query)
	}
	if hasFrag {
		rest += "#" + frag
	}
	return rest
}

// sshLogin is what a user name of an SSH address looks like (a POSIX login name).
var sshLogin = regexp.MustCompile(`^[a-z_][a-z0-9_.-]{0,31}$`)

// scpUser reports whether s is the user part of an scp-like Git address (no "/" before the "@").
func scpUser(s string) bool { return !strings.Contains(s, "/") }

// redactQuery replaces the values of credential-looking parameters of a raw query string.
func redactQuery(q string) string {
	parts := strings.Split(q, "&")
	for i, kv := range parts {
		k, _, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		if name, err := url.QueryUnescape(k); err == nil {
			k = name
		}
		if CredentialParam(k) {
			key, _, _ := strings.Cut(parts[i], "=")
			parts[i] = key + "=" + redacted
		}
	}
	return strings.Join(parts, "&")
}

// credentialWords are the words of a query parameter name that mark its value as a credential.
var credentialWords = regexp.MustCompile(`(?i)(token|secret|passw|pwd|auth|credential|signature|apikey|api[-_.]?key|access[-_.]?key|private[-_.]?key|session)`)

// credentialNames are whole parameter names, or words of them, too short to match inside others.
var credentialNames = map[string]bool{"key": true, "sig": true, "pass": true, "code": true, "jwt": true, "sas": true}

// CredentialParam reports whether a URL query parameter named name (any case) carries a
// credential: token, private_token, access_token, password, secret, key, sig, signature, auth…,
// or a name holding one of these words (X-Amz-Signature, client_secret, api-key).
func CredentialParam(name string) bool {
	if credentialWords.MatchString(name) {
		return true
	}
	for _, w := range strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return r == '_' || r == '-' || r == '.' }) {
		if credentialNames[w] {
			return true
		}
	}
	return false
}

// URLHasCredentials reports whether a Git URL carries a credential: user information other than
// the login of an SSH address, or a credential query parameter.
func URLHasCredentials(raw string) bool {
	if RedactURL(raw) != raw {
		return true
	}
	// RedactURL keeps a plain SSH login ("ssh://git@host/…" loses it; "git@host:" keeps it); a user
	// in an https URL is a credential whatever it looks like.
	if scheme, after, ok := strings.Cut(raw, "://"); ok && (scheme == "http" || scheme == "https") {
		authority, _, _ := strings.Cut(after, "/")
		return strings.Contains(authority, "@")
	}
	return false
}

// RedactError returns err with every URL in its message redacted, and the credentials of rawURL
// removed wherever else they appear (go-git and net/http put the remote's URL, user name
// included, into their errors). errors.Is and errors.As still see err; only the text changes.
func RedactError(err error, rawURL string) error {
	if err == nil {
		return nil
	}
	msg := RedactText(err.Error(), rawURL)
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// Is lets errors.Is compare through the wrapper as usual (Unwrap does), kept explicit for clarity.
func (e *redactedError) Is(target error) bool { return errors.Is(e.err, target) }

var urlInText = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>` + "`" + `]+`)

// RedactText redacts every URL in text (RedactURL), then the secrets of each of urls wherever
// they still appear: a user name, a password or a credential parameter's value, raw or
// percent-encoded.
func RedactText(text string, urls ...string) string {
	text = urlInText.ReplaceAllStringFunc(text, RedactURL)
	for _, u := range urls {
		for _, s := range urlSecrets(u) {
			text = strings.ReplaceAll(text, s, redacted)
		}
	}
	return text
}

// urlSecrets are the credential strings of a URL, in the forms they may be printed in; short
// ones (a login such as "git") are left out, as replacing them would mangle the text.
func urlSecrets(raw string) []string {
	var out []string
	add := func(s string) {
		if len(s) < 6 {
			return
		}
		out = append(out, s)
		if e := url.PathEscape(s); e != s {
			out = append(out, e)
		}
		if e := url.QueryEscape(s); e != s {
			out = append(out, e)
		}
		if d, err := url.PathUnescape(s); err == nil && d != s {
			out = append(out, d)
		}
	}
	rest, _, _ := strings.Cut(raw, "#")
	rest, query, _ := strings.Cut(rest, "?")
	if _, after, ok := strings.Cut(rest, "://"); ok {
		authority, _, _ := strings.Cut(after, "/")
		if at := strings.LastIndexByte(authority, '@'); at >= 0 {
			user, pass, _ := strings.Cut(authority[:at], ":")
			add(user)
			add(pass)
		}
	}
	for _, kv := range strings.Split(query, "&") {
		k, v, ok := strings.Cut(kv, "=")
		if name, err := url.QueryUnescape(k); err == nil {
			k = name
		}
		if ok && CredentialParam(k) {
			add(v)
		}
	}
	return out
}
