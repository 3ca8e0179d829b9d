package main

import (
	"os"
	"path/filepath"
	"strings"
	"time"
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
	if f.interval == 0 && !f.once && f.webhookAddr == "" && !(f.watch && isDir(f.repo)) {
		return usageErrorf("--interval 0 never polls, and nothing else would start a sync: add --webhook-addr, or sync a local folder with --watch")
	}
	if f.out != "" && isDir(f.repo) {
		if inside, err := within(f.out, filepath.Join(f.repo, f.path)); err != nil {
			return err
		} else if inside {
			// The folder's own writes would be read back as workspace files, and with --watch
			// each write would start another sync.
			return usageErrorf("--out %s is inside the folder the workspaces are read from (%s): choose a folder outside it", f.out, filepath.Join(f.repo, f.path))
		}
	}
	return nil
}

func isDir(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.IsDir()
}

// within reports whether path is dir or under it, after making both absolute and following the
// symbolic links of the parts that exist.
func within(path, dir string) (bool, error) {
	p, err := resolve(path)
	if err != nil {
		return false, err
	}
	d, err := resolve(dir)
	if err != nil {
		return false, err
	}
	rel, err := filepath.Rel(d, p)
	if err != nil {
		return false, nil
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)), nil
}

// resolve is filepath.Abs with the symbolic links of the longest existing prefix followed: the
// folder --out names may not exist yet.
func resolve(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	rest := ""
	for cur := abs; ; {
		if real, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(real, rest), nil
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return abs, nil
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}
