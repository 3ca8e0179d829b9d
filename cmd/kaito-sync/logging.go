package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"

	ksync "github.com/kaito-sync/kaito-sync/sync"
	"github.com/kaito-sync/kaito-sync/sync/apply"
	"github.com/kaito-sync/kaito-sync/sync/gitbranch"
	"github.com/kaito-sync/kaito-sync/workspaces"
)

// newLogger builds the process logger: key=value text for people, JSON for log pipelines.
func newLogger(w io.Writer, format string, verbose bool) (*slog.Logger, error) {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: redactSecrets}
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageErrorf("unknown --log-format %q: use text or json", format)
}

// redactSecrets is a last line of defence: no code logs a credential on purpose, but an attribute
// whose name says it holds one is blanked whatever its value.
func redactSecrets(_ []string, a slog.Attr) slog.Attr {
	k := strings.ToLower(a.Key)
	for _, s := range []string{"token", "password", "secret", "privatekey", "authorization"} {
		if strings.Contains(k, s) {
			return slog.String(a.Key, "[redacted]")
		}
	}
	return a
}

// logResult writes one sync as structured lines: every line about a workspace names it and the
// source commit, so `jq 'select(.workspace=="team-a/phi-3")'` follows one workspace through syncs.
// Unchanged objects are logged at debug level.
func logResult(log *slog.Logger, res *ksync.Result, err error) {
	if res == nil {
		res = &ksync.Result{}
	}
	log = log.With("commit", gitbranch.ShortCommit(res.Commit))
	if err != nil {
		if errors.Is(err, context.Canceled) {
			log.Info("sync abandoned: shutting down or no longer leader")
			return
		}
		log.Error("sync failed", "err", err)
	}
	if res.Set != nil {
		for _, p := range res.Set.Problems {
			level := slog.LevelWarn
			if p.Severity == workspaces.Error {
				level = slog.LevelError
			}
			log.Log(context.Background(), level, p.Message, "workspace", p.Workspace, "file", p.Path, "line", p.Line,
				"field", p.Field)
		}
	}
	for _, c := range res.Changes.Entries {
		attrs := []any{"workspace", c.Workspace, "object", c.Object.String(), "action", string(c.Action)}
		if c.Reason != "" {
			attrs = append(attrs, "reason", c.Reason)
		}
		switch c.Action {
		case apply.Failed:
			log.Error("object failed", append(attrs, "err", c.Err)...)
		case apply.Unchanged:
			log.Debug("object unchanged", attrs...)
		default:
			log.Info("object "+string(c.Action), attrs...)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(res.Nodes)) {
		if st := res.Nodes[key]; !st.Ready {
			log.Info("nodes not ready", "workspace", key, "reason", st.Reason, "message", st.Message)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(res.RenderErrors)) {
		log.Error("render failed", "workspace", key, "err", res.RenderErrors[key])
	}
	if res.PruneBlocked != "" {
		log.Warn("prune refused", "reason", res.PruneBlocked)
	}
	if err != nil {
		return
	}
	valid, invalid := res.Counts()
	log.Info("synced", "duration", res.Duration.Round(1e6).String(), "valid", valid, "invalid", invalid,
		"changes", res.Changes.Summary())
}
