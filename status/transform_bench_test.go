package status

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// BenchmarkTrimMemory measures the heap the reporter's cache keeps for the StatefulSet and the pod
// of each of 2,000 workspaces, decoded from the API server's JSON (testdata/live.yaml) as the
// informer decodes them, kept whole and trimmed:
//
//	go test ./status -run '^$' -bench TrimMemory -benchtime 1x
func BenchmarkTrimMemory(b *testing.B) {
	const n = 2000
	docs, err := liveJSON()
	if err != nil {
		b.Fatal(err)
	}
	var sts, pod []byte
	for _, j := range docs {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			b.Fatal(err)
		}
		switch u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName() {
		case "StatefulSet/default/workspace-phi-3-mini":
			sts = j
		case "Pod/default/workspace-phi-3-mini-0":
			pod = j
		}
	}
	if sts == nil || pod == nil {
		b.Fatal("live.yaml lacks phi-3's StatefulSet or pod")
	}
	trimSTS, trimPod := trimmer("StatefulSet"), trimmer("Pod")
	whole := func(o any) (any, error) { return o, nil }

	// retained is the live heap grown by keeping n workspaces' objects, each decoded anew (so no
	// two share a string, as in an informer) and passed through the transforms.
	retained := func(forSTS, forPod func(any) (any, error)) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		kept := make([]any, 0, 2*n)
		for i := range n {
			name := fmt.Appendf(nil, "ws-%05d", i)
			for _, d := range []struct {
				j []byte
				f func(any) (any, error)
			}{{sts, forSTS}, {pod, forPod}} {
				u := &unstructured.Unstructured{}
				if err := u.UnmarshalJSON(bytes.ReplaceAll(d.j, []byte("workspace-phi-3-mini"), name)); err != nil {
					b.Fatal(err)
				}
				o, err := d.f(u)
				if err != nil {
					b.Fatal(err)
				}
				kept = append(kept, o)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(kept)
		return after.HeapAlloc - before.HeapAlloc
	}
	var full, trimmed uint64
	for b.Loop() {
		full = retained(whole, whole)
		trimmed = retained(trimSTS, trimPod)
	}
	b.ReportMetric(float64(full)/n, "B/ws-full")
	b.ReportMetric(float64(trimmed)/n, "B/ws-trimmed")
	b.ReportMetric(float64(full)/(1<<20), "MiB-full")
	b.ReportMetric(float64(trimmed)/(1<<20), "MiB-trimmed")
	b.ReportMetric(float64(trimmed)/float64(full), "trimmed/full")
	b.ReportMetric(0, "ns/op")
}
