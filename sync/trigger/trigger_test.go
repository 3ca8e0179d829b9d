package trigger

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
)

func TestWebhook(t *testing.T) {
	secret := []byte("s3cret")
	push := `{"ref":"refs/heads/main","after":"abc"}`
	sign := func(body string, key []byte) string {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(body))
		return "sha256=" + hex.EncodeToString(m.Sum(nil))
	}
	tests := []struct {
		name    string
		method  string
		headers map[string]string
		body    string
		status  int
		trigger bool
	}{
		{"github push", "POST", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(push, secret)}, push, 202, true},
		{"github bad signature", "POST", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(push, []byte("wrong"))}, push, 401, false},
		{"github signature of another body", "POST", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sign("{}", secret)}, push, 401, false},
		{"github malformed signature", "POST", map[string]string{"X-Hub-Signature-256": "sha1=zz"}, push, 401, false},
		{"github ping", "POST", map[string]string{"X-GitHub-Event": "ping", "X-Hub-Signature-256": sign("{}", secret)}, "{}", 200, false},
		{"github push to another branch", "POST", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(`{"ref":"refs/heads/dev"}`, secret)}, `{"ref":"refs/heads/dev"}`, 202, false},
		{"gitlab push", "POST", map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "s3cret"}, push, 202, true},
		{"gitlab bad token", "POST", map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "s3cre"}, push, 401, false},
		{"generic bearer", "POST", map[string]string{"Authorization": "Bearer s3cret"}, "", 202, true},
		{"no credentials", "POST", nil, push, 401, false},
		{"GET refused", "GET", nil, "", 405, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			h := NewWebhook(secret, "main", nil)
			srv := httptest.NewServer(h) // loopback
			defer srv.Close()
			req, err := http.NewRequest(tt.method, srv.URL, strings.NewReader(tt.body))
			is.NoErr(err)
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			is.NoErr(err)
			resp.Body.Close()
			is.Equal(resp.StatusCode, tt.status)
			select {
			case tr := <-h.C:
				is.True(tt.trigger) // a trigger was sent
				is.True(strings.HasPrefix(tr.Reason, "webhook "))
			default:
				is.True(!tt.trigger) // no trigger was sent
			}
		})
	}
}

func TestWebhookWithoutSecretRefusesEverything(t *testing.T) {
	is := is.New(t)
	h := NewWebhook(nil, "main", nil)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer ")
	h.ServeHTTP(rec, req)
	is.Equal(rec.Code, 401)
}

func TestWebhookBodyLimit(t *testing.T) {
	is := is.New(t)
	h := NewWebhook([]byte("x"), "main", nil)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("a", maxWebhookBody+1)))
	h.ServeHTTP(rec, req)
	is.Equal(rec.Code, 413)
}

func TestWatchDebouncesBursts(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := Watch(ctx, dir, 100*time.Millisecond, nil)
	is.NoErr(err)
	// A burst: a new folder and several files in it.
	is.NoErr(os.MkdirAll(filepath.Join(dir, "team"), 0o755))
	for i := range 5 {
		is.NoErr(os.WriteFile(filepath.Join(dir, "team", "ws.yaml"), []byte(strings.Repeat("x", i)), 0o644))
	}
	select {
	case tr := <-ch:
		is.True(strings.HasPrefix(tr.Reason, "fsnotify "))
	case <-time.After(5 * time.Second):
		t.Fatal("no trigger after a write")
	}
	// A write in the folder created after the watch started is seen too.
	is.NoErr(os.WriteFile(filepath.Join(dir, "team", "other.yaml"), []byte("y"), 0o644))
	select {
	case tr := <-ch:
		is.Equal(tr.Reason, "fsnotify team/other.yaml")
	case <-time.After(5 * time.Second):
		t.Fatal("no trigger for a file in a new folder")
	}
}

func TestPollAndMerge(t *testing.T) {
	is := is.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	manual := make(chan Trigger, 1)
	merged := Merge(ctx, Poll(ctx, 10*time.Millisecond, 0.5), manual)
	tr := <-merged
	is.Equal(tr.Reason, "poll")
	manual <- Trigger{Reason: "manual"}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case tr := <-merged:
			if tr.Reason == "manual" {
				return
			}
		case <-deadline:
			t.Fatal("manual trigger never arrived")
		}
	}
}
