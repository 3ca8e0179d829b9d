package main

import (
	"path/filepath"
	"time"

	"github.com/kaito-sync/kaito-sync/sync/source"
)

// minInterval is the shortest poll interval: each poll is a fetch from the Git server, and one
// every few milliseconds is a denial of service on it, not a faster sync (use a webhook for that).
const minInterval = 10 * time.Second

// check refuses flag combinations that would do nothing, or something other than what they say.
func (f *syncFlags) check() error {
	switch {
	case f.repo == "":
		return usageErrorf("--repo is required")
	case f.once && f.daemon.leaderElect:
		return usageErrorf("--leader-elect is for the long-running sync; drop --once or --leader-elect")
	case f.interval < 0:
		return usageErrorf("--interval %s is negative: use 0 to never poll, or at least %s", f.interval, minInterval)
	case f.interval > 0 && f.interval < minInterval:
		return usageErrorf("--interval %s is below %s: every poll fetches from the Git server; use --webhook-addr for syncs within a second of a push", f.interval, minInterval)
	case f.apiServerTimeout <= 0:
		return usageErrorf("--api-server-timeout must be positive")
	case f.target == "dir" && f.out == "":
		return usageErrorf("--target dir needs --out DIR")
	}
	folder, local := f.localFolder()
	if f.interval == 0 && !f.once && f.webhookAddr == "" && !(f.watch && local) {
		return usageErrorf("--interval 0 never polls, and nothing else would start a sync: add --webhook-addr, or sync a local folder with --watch")
	}
	if f.out != "" && local {
		if inside, err := source.Inside(f.out, folder); err != nil {
			return err
		} else if inside {
			// The folder's own writes would be read back as workspace files, and with --watch
			// each write would start another sync.
			return usageErrorf("--out %s is inside the folder the workspaces are read from (%s): choose a folder outside it", f.out, folder)
		}
	}
	return nil
}

// localFolder is the folder the sync reads workspaces from, when --repo names files on disk (a
// work tree or a plain folder, by the one --repo rule); a bare repository or a URL has none.
func (f *syncFlags) localFolder() (string, bool) {
	r, err := source.ResolveRepo(f.repo)
	if err != nil || !r.Local() {
		return "", false // buildSource reports a bad --repo
	}
	l, ok := r.Source(source.GitOptions{Path: f.path}).(source.Local)
	if !ok {
		return "", false
	}
	return filepath.Join(l.Dir, l.Path), true
}
