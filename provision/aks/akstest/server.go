// Package akstest is a loopback HTTPS Azure Resource Manager for the agent pools API, for tests.
// Requests are served by the SDK's own fake (armcontainerservice/v6/fake.AgentPoolsServer) over
// an in-memory set of pools whose operations take simulated time, can be held, and can fail the
// ways ARM fails (throttling, quota, an operation that ends Failed). Hooks let a test make and
// remove cluster nodes as pools are provisioned and deleted.
package akstest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6/fake"
)

// Options shape the simulated cloud. The zero value completes operations at once.
type Options struct {
	// CreateTime and DeleteTime are how long a pool operation runs before it ends.
	CreateTime, DeleteTime time.Duration
	// OnProvisioned runs when a create or update ends, before the pool reads Succeeded: make the
	// cluster's nodes match the pool. An error fails the operation.
	OnProvisioned func(pool armcontainerservice.AgentPool) error
	// OnDeleted runs when a delete ends, before the pool disappears.
	OnDeleted func(pool string) error
}

// Fault makes calls to one API fail, or, with LRO, makes the operation it starts end Failed.
type Fault struct {
	API        string // BeginCreateOrUpdate, BeginDelete, Get, NewListPager, Poll
	Times      int    // calls it applies to; 0 means until Clear
	Status     int
	Code       string
	Message    string
	RetryAfter int  // seconds, sent as Retry-After
	LRO        bool // accept the call, then end the operation Failed with Code and Message
}

// Server is the loopback ARM endpoint.
type Server struct {
	URL  string
	ts   *httptest.Server
	opts Options
	fake fake.AgentPoolsServer
	get  *fake.AgentPoolsServerTransport // for Get and List, which keep no state between calls

	mu     sync.Mutex
	pools  map[string]*armcontainerservice.AgentPool
	lros   map[string]*lro // by pool name: its latest operation
	faults []*Fault
	calls  map[string]int
	gate   chan struct{} // while non-nil, operations wait for it to close
}

// lro is one long-running operation. Each has its own fake transport: the fake tracks an LRO by
// URL path, and a new operation on the same pool must not replay an old one's responses.
type lro struct {
	api       string
	done      chan struct{}
	failure   *Fault
	transport *fake.AgentPoolsServerTransport
}

// New starts the server on 127.0.0.1 and stops it when the test ends.
func New(t interface{ Cleanup(func()) }, opts Options) *Server {
	s := &Server{opts: opts, pools: map[string]*armcontainerservice.AgentPool{}, lros: map[string]*lro{}, calls: map[string]int{}}
	s.fake = fake.AgentPoolsServer{
		BeginCreateOrUpdate: s.createOrUpdate,
		BeginDelete:         s.delete,
		Get:                 s.getPool,
		NewListPager:        s.list,
	}
	s.get = fake.NewAgentPoolsServerTransport(&s.fake)
	s.ts = httptest.NewUnstartedServer(s)             // listens on 127.0.0.1
	s.ts.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes cut short at Close are expected
	s.ts.StartTLS()
	s.URL = s.ts.URL
	t.Cleanup(s.ts.Close)
	return s
}

// ClientOptions point an ARM client at the server and trust its certificate. Retries are quick.
func (s *Server) ClientOptions() *arm.ClientOptions {
	return &arm.ClientOptions{ClientOptions: policy.ClientOptions{
		Cloud: cloud.Configuration{
			ActiveDirectoryAuthorityHost: s.URL,
			Services:                     map[cloud.ServiceName]cloud.ServiceConfiguration{cloud.ResourceManager: {Endpoint: s.URL, Audience: s.URL}},
		},
		Transport: s.ts.Client(),
		Retry:     policy.RetryOptions{MaxRetries: 2, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 50 * time.Millisecond},
	}}
}

// Credential is a token credential the server accepts.
func (s *Server) Credential() azcore.TokenCredential { return &azfake.TokenCredential{} }

// Inject adds a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// Clear removes every fault.
func (s *Server) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Hold makes operations wait, after their simulated time, until release is called.
func (s *Server) Hold() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := make(chan struct{})
	s.gate = g
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.gate == g {
				s.gate = nil
			}
			s.mu.Unlock()
			close(g)
		})
	}
}

// Calls counts the requests to an API (BeginCreateOrUpdate, Get, Poll...), faulted ones included.
func (s *Server) Calls(api string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[api]
}

// Pools returns a copy of the pools, by name.
func (s *Server) Pools() map[string]armcontainerservice.AgentPool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]armcontainerservice.AgentPool{}
	for k, v := range s.pools {
		out[k] = clonePool(v)
	}
	return out
}

// AddPool adds a pool that is already provisioned, as someone else (or an earlier run) made it.
func (s *Server) AddPool(name string, p armcontainerservice.AgentPool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p = clonePool(&p)
	p.Name = &name
	if p.Properties == nil {
		p.Properties = &armcontainerservice.ManagedClusterAgentPoolProfileProperties{}
	}
	p.Properties.ProvisioningState = ptr("Succeeded")
	s.pools[name] = &p
}

// Wait blocks until no operation is running, or ctx ends.
func (s *Server) Wait(ctx context.Context) error {
	for {
		s.mu.Lock()
		var running []chan struct{}
		for _, l := range s.lros {
			select {
			case <-l.done:
			default:
				running = append(running, l.done)
			}
		}
		s.mu.Unlock()
		if len(running) == 0 {
			return nil
		}
		select {
		case <-running[0]:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// ServeHTTP routes a request to the fake by its method and path, as ARM would, and writes back
// what the fake answers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	api, pool := route(r)
	if api == "" {
		writeError(w, &Fault{Status: http.StatusNotFound, Code: "InvalidResourceType", Message: r.Method + " " + r.URL.Path})
		return
	}
	s.mu.Lock()
	s.calls[api]++
	f := s.fault(api)
	var l *lro
	if api == "Poll" {
		l = s.lros[pool]
	}
	s.mu.Unlock()
	if f != nil && !f.LRO {
		writeError(w, f)
		return
	}

	t := s.get
	switch api {
	case "Poll":
		if l == nil {
			writeError(w, &Fault{Status: http.StatusNotFound, Code: "NotFound", Message: "no operation on " + pool})
			return
		}
		select {
		case <-l.done:
		default:
			w.Header().Set("Fake-Poller-Status", "InProgress")
			w.WriteHeader(http.StatusAccepted)
			return
		}
		if l.failure != nil {
			w.Header().Set("Fake-Poller-Status", "Failed")
			writeBody(w, http.StatusOK, l.failure)
			return
		}
		api, t = l.api, l.transport
	case "BeginCreateOrUpdate", "BeginDelete":
		t = fake.NewAgentPoolsServerTransport(&s.fake)
		if f != nil {
			r = r.WithContext(context.WithValue(r.Context(), lroFault{}, f))
		}
	}
	// The SDK's fake transport closes its result channel when the request context ends while the
	// goroutine running the fake may still send on it (a data race, and a possible panic) — which
	// happens whenever a client gives up mid-call, as the kill-during-create test does. Serving each
	// call to completion, whatever the client does, keeps the fake out of that path.
	ctx := context.WithoutCancel(r.Context())
	resp, err := t.Do(r.WithContext(context.WithValue(ctx, runtime.CtxAPINameKey{}, "AgentPoolsClient."+api)))
	if api == "BeginCreateOrUpdate" || api == "BeginDelete" {
		s.mu.Lock()
		if l := s.lros[pool]; l != nil && l.transport == nil {
			l.transport = t
		}
		s.mu.Unlock()
	}
	if err != nil {
		var re *azcore.ResponseError
		if errors.As(err, &re) {
			writeError(w, &Fault{Status: re.StatusCode, Code: re.ErrorCode, Message: re.ErrorCode})
			return
		}
		writeError(w, &Fault{Status: http.StatusInternalServerError, Code: "InternalServerError", Message: err.Error()})
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

type lroFault struct{}

// route names the API a request calls and the pool it is about.
func route(r *http.Request) (api, pool string) {
	const marker = "/providers/Microsoft.ContainerService/managedClusters/"
	path := r.URL.Path
	i := strings.Index(strings.ToLower(path), strings.ToLower(marker))
	if i < 0 {
		return "", ""
	}
	parts := strings.Split(strings.Trim(path[i+len(marker):], "/"), "/")
	// parts: cluster, agentPools[, pool[, get, fake, status]]
	if len(parts) < 2 || !strings.EqualFold(parts[1], "agentPools") {
		return "", ""
	}
	switch {
	case len(parts) == 2 && r.Method == http.MethodGet:
		return "NewListPager", ""
	case len(parts) == 6 && parts[3] == "get" && parts[4] == "fake" && parts[5] == "status":
		return "Poll", parts[2]
	case len(parts) != 3:
		return "", ""
	}
	switch r.Method {
	case http.MethodGet:
		return "Get", parts[2]
	case http.MethodPut:
		return "BeginCreateOrUpdate", parts[2]
	case http.MethodDelete:
		return "BeginDelete", parts[2]
	}
	return "", ""
}

// fault returns the first fault for api and uses it up. Callers hold s.mu.
func (s *Server) fault(api string) *Fault {
	for i, f := range s.faults {
		if f.API != api {
			continue
		}
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
		}
		return f
	}
	return nil
}

// writeError writes an ARM error: {"error": {"code", "message"}} and Retry-After.
func writeError(w http.ResponseWriter, f *Fault) {
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	status := f.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	writeBody(w, status, f)
}

func writeBody(w http.ResponseWriter, status int, f *Fault) {
	body, _ := json.Marshal(map[string]any{"error": map[string]string{"code": f.Code, "message": f.Message}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
