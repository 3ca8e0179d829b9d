// Package informers waits for kaito-sync's watches to list, and fails fast when the API server
// refuses them: a ServiceAccount missing a list or watch permission must stop kaito-sync with a
// message naming the resource, not leave it waiting forever with the reason only in client-go's
// retry log.
package informers

import (
	"context"
	"fmt"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/cache"
)

// Refusals arms each informer (before it starts) to report an API-server refusal — Forbidden or
// Unauthorized — on the returned channel; other watch errors keep client-go's retry behaviour.
func Refusals(infs map[string]cache.SharedIndexInformer) (<-chan error, error) {
	refused := make(chan error, len(infs))
	for name, inf := range infs {
		err := inf.SetWatchErrorHandlerWithContext(func(ctx context.Context, r *cache.Reflector, err error) {
			if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
				select {
				case refused <- fmt.Errorf("cannot list/watch %s: %w", name, err):
				default:
				}
			}
			cache.DefaultWatchErrorHandler(ctx, r, err)
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return refused, nil
}

// WaitSynced waits until every informer has listed, one was refused, or ctx ends.
func WaitSynced(ctx context.Context, infs map[string]cache.SharedIndexInformer, refused <-chan error) error {
	names := make([]string, 0, len(infs))
	synced := make([]cache.InformerSynced, 0, len(infs))
	for name, inf := range infs {
		names = append(names, name)
		synced = append(synced, inf.HasSynced)
	}
	sort.Strings(names)
	waitCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan bool, 1)
	go func() { done <- cache.WaitForCacheSync(waitCtx.Done(), synced...) }()
	select {
	case err := <-refused:
		return err
	case ok := <-done:
		if !ok {
			return fmt.Errorf("watches of %v did not list: %w", names, context.Cause(ctx))
		}
		return nil
	}
}
