package trigger

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// maxWebhookBody bounds what an unauthenticated caller can make the server read.
const maxWebhookBody = 5 << 20

// Webhook is an http.Handler for push webhooks from GitHub (X-Hub-Signature-256 HMAC), GitLab
// (X-Gitlab-Token) and anything else that can send a bearer token. An authentic push to the synced
// branch (or a push whose branch cannot be read) sends a Trigger; pings and other branches do not.
type Webhook struct {
	Secret []byte
	Branch string
	Logger *slog.Logger
	C      chan Trigger
	// Observe, when set, sees every delivery: the provider (github, gitlab, generic, or "" when
	// unknown) and the outcome (triggered, ignored, unauthorized, too-large, bad-request).
	Observe func(provider, outcome string)
}

func (h *Webhook) observe(provider, outcome string) {
	if h.Observe != nil {
		h.Observe(provider, outcome)
	}
}

// NewWebhook returns a handler whose triggers arrive on its C.
func NewWebhook(secret []byte, branch string, log *slog.Logger) *Webhook {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Webhook{Secret: secret, Branch: branch, Logger: log, C: make(chan Trigger, 1)}
}

func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.observe("", "too-large")
			http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
			return
		}
		h.observe("", "bad-request")
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	provider, ok := h.authenticate(r, body)
	if !ok {
		// Say nothing about why: the caller may be probing.
		h.Logger.Warn("webhook refused: bad or missing signature", "remote", r.RemoteAddr)
		h.observe(provider, "unauthorized")
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	event := r.Header.Get("X-GitHub-Event") + r.Header.Get("X-Gitlab-Event")
	if event == "ping" {
		h.observe(provider, "ignored")
		w.WriteHeader(http.StatusOK)
		return
	}
	if event != "" && event != "push" && event != "Push Hook" {
		h.observe(provider, "ignored")
		w.WriteHeader(http.StatusAccepted) // authentic but not a push: nothing to do
		return
	}
	ref := pushedRef(body)
	if ref != "" && h.Branch != "" && ref != "refs/heads/"+h.Branch {
		h.observe(provider, "ignored")
		w.WriteHeader(http.StatusAccepted)
		return
	}
	send(h.C, Trigger{Reason: "webhook " + provider + " push " + strings.TrimPrefix(ref, "refs/heads/"), At: time.Now()})
	h.observe(provider, "triggered")
	w.WriteHeader(http.StatusAccepted)
}

// authenticate checks the provider's proof of the shared secret, in constant time.
func (h *Webhook) authenticate(r *http.Request, body []byte) (string, bool) {
	if len(h.Secret) == 0 {
		return "", false // a webhook without a secret would let anyone trigger syncs
	}
	if sig := r.Header.Get("X-Hub-Signature-256"); sig != "" {
		got, err := hex.DecodeString(strings.TrimPrefix(sig, "sha256="))
		if err != nil || !strings.HasPrefix(sig, "sha256=") {
			return "github", false
		}
		mac := hmac.New(sha256.New, h.Secret)
		mac.Write(body)
		return "github", hmac.Equal(got, mac.Sum(nil))
	}
	if tok := r.Header.Get("X-Gitlab-Token"); tok != "" {
		return "gitlab", subtle.ConstantTimeCompare([]byte(tok), h.Secret) == 1
	}
	if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return "generic", subtle.ConstantTimeCompare([]byte(auth), h.Secret) == 1
	}
	return "", false
}

// pushedRef reads "ref" from a GitHub, GitLab or Gitea push payload; "" when absent.
func pushedRef(body []byte) string {
	var p struct {
		Ref string `json:"ref"`
	}
	if json.Unmarshal(body, &p) != nil {
		return ""
	}
	return p.Ref
}
