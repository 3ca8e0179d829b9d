package testenv

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// WaitAdapterStrength polls until the StatefulSet ns/name carries an adapter of that strength,
// for push → applied measurements: every 5 ms, their resolution. Polling, not a watch: a watch
// event arrives later than the object is readable, which would count against the push.
func (e *Env) WaitAdapterStrength(tb testing.TB, ns, name, strength string, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		s, err := e.Client.AppsV1().StatefulSets(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err == nil && strings.Contains(fmt.Sprint(s.Spec.Template.Spec.InitContainers, s.Spec.Template.Spec.Containers), strength) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	tb.Fatalf("%s/%s never got strength %s", ns, name, strength)
}
