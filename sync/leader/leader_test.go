package leader

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

func newElector(t *testing.T, client *fake.Clientset, id, pod string, onChange func(bool)) *Elector {
	t.Helper()
	e, err := New(Options{Client: client, Namespace: "kaito-sync", Name: "kaito-sync", Identity: id, Pod: pod,
		LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 50 * time.Millisecond, // the Lease counts whole seconds
		OnChange: onChange})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestOneLeaderAtATimeAcrossHandover runs two replicas; the leader is shut down while "applying";
// the Lease is released only after its work ended, so the two lead functions never overlap.
func TestOneLeaderAtATimeAcrossHandover(t *testing.T) {
	is := is.New(t)
	client := fake.NewClientset(
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "kaito-sync", Name: "pod-a", Labels: map[string]string{PodLabel: "true"}}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "kaito-sync", Name: "pod-b"}},
	)
	var (
		inLead   atomic.Int32
		overlap  atomic.Bool
		leaderCh = make(chan string, 2)
	)
	lead := func(name string, stop context.Context, finishing time.Duration) func(context.Context) {
		return func(leading context.Context) {
			if inLead.Add(1) > 1 {
				overlap.Store(true)
			}
			defer inLead.Add(-1)
			leaderCh <- name
			select {
			case <-stop.Done():
				time.Sleep(finishing) // the apply in progress runs to its end
			case <-leading.Done():
			}
		}
	}
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	a := newElector(t, client, "a", "pod-a", nil)
	b := newElector(t, client, "b", "pod-b", nil)

	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(1)
	go func() { defer wg.Done(); errs[0] = a.Run(ctxA, lead("a", ctxA, 300*time.Millisecond)) }()
	is.Equal(<-leaderCh, "a")
	wg.Add(1)
	go func() { defer wg.Done(); errs[1] = b.Run(ctxB, lead("b", ctxB, 0)) }()

	pod := func(name string) map[string]string {
		p, err := client.CoreV1().Pods("kaito-sync").Get(context.Background(), name, metav1.GetOptions{})
		is.NoErr(err)
		return p.Labels
	}
	is.Equal(pod("pod-a")[PodLabel], "true")
	is.Equal(pod("pod-b")[PodLabel], "") // the follower cleared any label a previous run left

	stopA()
	select {
	case got := <-leaderCh:
		is.Equal(got, "b")
	case <-time.After(10 * time.Second):
		t.Fatal("b never took over")
	}
	is.True(!overlap.Load())
	is.Equal(pod("pod-a")[PodLabel], "")
	is.Equal(pod("pod-b")[PodLabel], "true")
	stopB()
	wg.Wait()
	is.NoErr(errs[0]) // a graceful stop is not an error
	is.NoErr(errs[1])
}

// TestLostLeadershipIsAnError: a leader that cannot renew stops its work at once and Run says so,
// so the process exits and restarts instead of believing it still leads.
func TestLostLeadershipIsAnError(t *testing.T) {
	is := is.New(t)
	client := fake.NewClientset()
	e := newElector(t, client, "a", "", nil)
	var refuse atomic.Bool
	client.PrependReactor("update", "leases", func(clienttesting.Action) (bool, runtime.Object, error) {
		if refuse.Load() {
			return true, nil, errors.New("connection refused")
		}
		return false, nil, nil
	})
	err := e.Run(context.Background(), func(leading context.Context) {
		refuse.Store(true) // the API server stops accepting this replica's renewals
		<-leading.Done()
	})
	is.True(errors.Is(err, ErrLost))
}
