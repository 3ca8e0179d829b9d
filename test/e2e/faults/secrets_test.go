package faults

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/kaito-sync/kaito-sync/test/e2e/gitserver"
)

func randomSecret(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

var (
	webhookAddr = regexp.MustCompile(`msg="webhook listening" addr=(\S+)`)
	// A finished sync: the summary line of --once, or the log line of the long-running sync.
	syncedLine = regexp.MustCompile(`(?m)(^synced |msg=synced )`)
)

// The Git password (from a file, from the environment, or written into the URL) and the webhook
// secret never appear in what kaito-sync prints or logs — with -v, on errors, on a refused webhook —
// nor on the status branch it publishes.
func TestSecretsNeverLogged(t *testing.T) {
	is := is.New(t)
	password, hookSecret := randomSecret("gitpw-"), randomSecret("hook-")
	// A token as GitHub writes them, used as the URL's user name; another in the query, as
	// GitLab's ?private_token=; and a Hugging Face token pasted where a Secret's name belongs.
	urlToken, queryToken, hfToken := randomSecret("ghp_Ab"), randomSecret("glpat-Cd"), randomSecret("hf_Ef")
	// What the password looks like on the wire, in an Authorization header a debug log might dump.
	basic := base64.StdEncoding.EncodeToString([]byte("kaito:" + password))
	ns := env.NewNamespace(t)
	srv := gitserver.New(t, gitserver.Options{User: "kaito", Password: password, Token: urlToken})
	_, err := srv.CreateRepo("fleet")
	is.NoErr(err)
	f := &fixture{t: t, ns: ns, git: srv}
	files := f.files("good")
	files["workspaces/invalid.yaml"] = strings.Replace(f.workspace("invalid"), "Standard_NC6s_v3", "Standard_Nope", 1)
	files["workspaces/broken.yaml"] = "apiVersion: kaito.sh/v1alpha1\nkind: Workspace\nmetadata: [\n"
	files["workspaces/pasted-token.yaml"] = f.workspace("pasted-token") + "    presetOptions:\n      modelAccessSecret: " + hfToken + "\n"
	f.push(files, "a good, an invalid and a broken workspace")

	withCreds, _ := url.Parse(srv.RepoURL("fleet"))
	withCreds.User = url.UserPassword("kaito", password)
	common := []string{"sync", "--path", "workspaces", "--kubeconfig", env.Kubeconfig, "--target", "cluster", "-v"}
	var outputs []func() string
	// Registered first, so it runs after every process has ended, even when the test failed.
	t.Cleanup(func() {
		for _, o := range outputs {
			text := o()
			name, _, _ := strings.Cut(text, "\n")
			for _, secret := range []string{password, hookSecret, basic, urlToken, queryToken, hfToken} {
				if strings.Contains(text, secret) {
					t.Errorf("a secret appears in %s\n%s", name, text)
				}
			}
		}
		t.Logf("%d outputs and files scanned", len(outputs))
	})
	run := func(name string, extraEnv []string, args ...string) *kaitoSync {
		t.Helper()
		k := startKaitoSync(t, extraEnv, append(append([]string{}, common...), args...)...)
		outputs = append(outputs, func() string { return name + ":\n" + k.out.String() })
		return k
	}

	// A token from the environment; one sync that has problems to report.
	k := run("token from the environment", []string{"KAITO_TEST_TOKEN=" + password},
		"--repo", srv.RepoURL("fleet"), "--git-username", "kaito", "--git-token-env", "KAITO_TEST_TOKEN", "--once")
	is.True(k.wait(t, 3*time.Minute) != nil) // exit 1: the invalid workspace
	is.True(strings.Contains(k.out.String(), "workspaces/broken.yaml:3"))

	// Credentials written into the URL, the Git server down: every error names the remote.
	is.NoErr(srv.Stop())
	k = run("credentials in the URL, server down", nil, "--repo", withCreds.String(), "--once")
	is.True(k.wait(t, 3*time.Minute) != nil)
	is.True(strings.Contains(k.out.String(), "connection refused"))
	is.NoErr(srv.Restart())
	k = run("credentials in the URL", nil, "--repo", withCreds.String(), "--once")
	is.True(k.wait(t, 3*time.Minute) != nil)

	// A token as the URL's user name, logged as JSON: the sync works, warns once to move the
	// token to --git-password-file or --git-token-env, and the token is printed nowhere.
	tokenURL, _ := url.Parse(srv.RepoURL("fleet"))
	tokenURL.User = url.User(urlToken)
	k = run("token as the URL's user name, JSON logs", nil, "--repo", tokenURL.String(), "--log-format", "json", "--once")
	is.True(k.wait(t, 3*time.Minute) != nil) // exit 1: the invalid workspaces
	is.Equal(strings.Count(k.out.String(), "--git-password-file or --git-token-env"), 1)
	is.True(strings.Contains(k.out.String(), "workspaces/pasted-token.yaml"))
	is.True(strings.Contains(k.out.String(), `presetOptions.modelAccessSecret"`)) // the field, logged as JSON
	is.True(strings.Contains(k.out.String(), "this looks like a credential"))
	// The same URL, the Git server down: go-git and net/http quote the URL, user name and all.
	is.NoErr(srv.Stop())
	k = run("token as the URL's user name, server down, JSON logs", nil, "--repo", tokenURL.String(), "--log-format", "json", "--once")
	is.True(k.wait(t, 3*time.Minute) != nil)
	is.True(strings.Contains(k.out.String(), "connection refused"))
	// A token in the query, as GitLab's private_token (go-git cannot use one: the fetch fails).
	k = run("token in the query, server down, JSON logs", nil, "--repo", srv.RepoURL("fleet")+"?private_token="+queryToken, "--log-format", "json", "--once")
	is.True(k.wait(t, 3*time.Minute) != nil)
	is.True(strings.Contains(k.out.String(), "private_token=REDACTED"))
	is.NoErr(srv.Restart())

	// A password file and a webhook: a forged delivery is refused, a signed one triggers a sync.
	k = run("password file and webhook", nil, "--repo", srv.RepoURL("fleet"), "--git-username", "kaito",
		"--git-password-file", writeFile(t, "password", password+"\n"), "--interval", "1h",
		"--webhook-addr", "127.0.0.1:0", "--webhook-secret-file", writeFile(t, "hook", hookSecret+"\n"))
	k.waitOutput(t, "webhook listening and a first sync", func(s string) bool {
		return webhookAddr.MatchString(s) && len(syncedLine.FindAllString(s, -1)) >= 1
	})
	hook := "http://" + webhookAddr.FindStringSubmatch(k.out.String())[1] + "/hook"
	body := `{"ref":"refs/heads/main"}`
	post := func(sig string) int {
		req, err := http.NewRequest(http.MethodPost, hook, strings.NewReader(body))
		is.NoErr(err)
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-Hub-Signature-256", sig)
		resp, err := http.DefaultClient.Do(req)
		is.NoErr(err)
		resp.Body.Close()
		return resp.StatusCode
	}
	is.Equal(post("sha256="+hex.EncodeToString(make([]byte, 32))), http.StatusUnauthorized)
	mac := hmac.New(sha256.New, []byte(hookSecret))
	mac.Write([]byte(body))
	is.Equal(post("sha256="+hex.EncodeToString(mac.Sum(nil))), http.StatusAccepted)
	k.waitOutput(t, "a second sync, from the webhook", func(s string) bool { return len(syncedLine.FindAllString(s, -1)) >= 2 })
	is.NoErr(k.cmd.Process.Signal(syscall.SIGTERM)) // what Kubernetes sends before SIGKILL
	_ = k.wait(t, time.Minute)

	branch, _, err := srv.ReadBranch("fleet", "kaito-status")
	is.NoErr(err)
	is.True(len(branch) > 0)
	for name, content := range branch {
		outputs = append(outputs, func() string { return "status branch file " + name + ":\n" + content })
	}
}
