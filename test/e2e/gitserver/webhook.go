package gitserver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
)

// DeliverPush posts a push of branch to a webhook URL as GitHub does, signed with secret
// (X-Hub-Signature-256), and returns the status code.
func DeliverPush(url string, secret []byte, branch string) (int, error) {
	body := `{"ref":"refs/heads/` + branch + `"}`
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(body))
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// MustDeliverPush is DeliverPush for tests and benchmarks: anything but 202 Accepted fails tb.
func MustDeliverPush(tb testing.TB, url string, secret []byte, branch string) {
	tb.Helper()
	code, err := DeliverPush(url, secret, branch)
	if err != nil {
		tb.Fatal(err)
	}
	if code != http.StatusAccepted {
		tb.Fatalf("webhook answered %d", code)
	}
}
