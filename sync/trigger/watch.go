package trigger

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watch sends a Trigger when files under dir change, once per burst: editors write a file in
// several steps (temp file, rename, chmod) and a save of many files is one change. Folders created
// later are watched too; hidden folders (.git) are not.
func Watch(ctx context.Context, dir string, debounce time.Duration, log *slog.Logger) (<-chan Trigger, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	if err := addTree(w, dir); err != nil {
		w.Close()
		return nil, err
	}
	out := make(chan Trigger, 1)
	go func() {
		defer w.Close()
		defer close(out)
		var timer *time.Timer
		var fire <-chan time.Time
		last := ""
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if hidden(dir, ev.Name) {
					continue
				}
				if ev.Has(fsnotify.Create) {
					if info, err := os.Stat(ev.Name); err == nil && info.IsDir() {
						if err := addTree(w, ev.Name); err != nil {
							log.Warn("watch: cannot watch new folder", "dir", ev.Name, "err", err)
						}
					}
				}
				last = ev.Name
				if timer == nil {
					timer = time.NewTimer(debounce)
				} else {
					timer.Reset(debounce)
				}
				fire = timer.C
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				log.Warn("watch error", "err", err)
			case now := <-fire:
				fire = nil
				rel, _ := filepath.Rel(dir, last)
				send(out, Trigger{Reason: "fsnotify " + filepath.ToSlash(rel), At: now})
			}
		}
	}()
	return out, nil
}

func hidden(root, name string) bool {
	rel, err := filepath.Rel(root, name)
	if err != nil {
		return false
	}
	for _, part := range strings.Split(filepath.ToSlash(rel), "/") {
		if strings.HasPrefix(part, ".") && part != "." && part != ".." {
			return true
		}
	}
	return false
}

func addTree(w *fsnotify.Watcher, root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		return w.Add(p)
	})
}
