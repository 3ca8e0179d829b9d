package akstest

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
)

// The functions below are the fake.AgentPoolsServer's: what ARM does with the pools.

func (s *Server) createOrUpdate(ctx context.Context, rg, cluster, name string, p armcontainerservice.AgentPool, _ *armcontainerservice.AgentPoolsClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[armcontainerservice.AgentPoolsClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	stateNow := "Creating"
	if old := s.pools[name]; old != nil {
		if st := deref(old.Properties.ProvisioningState); st != "Succeeded" && st != "Failed" && st != "Canceled" {
			errResp.SetResponseError(http.StatusConflict, "OperationNotAllowed")
			return resp, errResp
		}
		stateNow = "Updating"
		if deref(old.Properties.Count) != deref(p.Properties.Count) {
			stateNow = "Scaling"
		}
	}
	p = clonePool(&p)
	p.Name = ptr(name)
	p.ID = ptr("/subscriptions/x/resourceGroups/" + rg + "/providers/Microsoft.ContainerService/managedClusters/" + cluster + "/agentPools/" + name)
	p.Properties.ProvisioningState = ptr(stateNow)
	s.pools[name] = &p
	final := clonePool(&p)
	final.Properties.ProvisioningState = ptr("Succeeded")

	l := &lro{api: "BeginCreateOrUpdate", done: make(chan struct{})}
	if f, _ := ctx.Value(lroFault{}).(*Fault); f != nil {
		l.failure = f
	}
	s.lros[name] = l
	go s.finish(name, l, s.opts.CreateTime, func() (*armcontainerservice.AgentPool, error) {
		if l.failure != nil || s.opts.OnProvisioned == nil {
			return &final, nil
		}
		return &final, s.opts.OnProvisioned(clonePool(&final))
	})
	resp.AddNonTerminalResponse(http.StatusCreated, nil)
	resp.SetTerminalResponse(http.StatusOK, armcontainerservice.AgentPoolsClientCreateOrUpdateResponse{AgentPool: final}, nil)
	return resp, errResp
}

func (s *Server) delete(ctx context.Context, _, _, name string, _ *armcontainerservice.AgentPoolsClientBeginDeleteOptions) (resp azfake.PollerResponder[armcontainerservice.AgentPoolsClientDeleteResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.pools[name]
	if old == nil {
		errResp.SetResponseError(http.StatusNotFound, "NotFound")
		return resp, errResp
	}
	old.Properties.ProvisioningState = ptr("Deleting")
	l := &lro{api: "BeginDelete", done: make(chan struct{})}
	if f, _ := ctx.Value(lroFault{}).(*Fault); f != nil {
		l.failure = f
	}
	s.lros[name] = l
	go s.finish(name, l, s.opts.DeleteTime, func() (*armcontainerservice.AgentPool, error) {
		if l.failure != nil {
			return nil, nil
		}
		if s.opts.OnDeleted != nil {
			if err := s.opts.OnDeleted(name); err != nil {
				return nil, err
			}
		}
		return nil, nil
	})
	resp.AddNonTerminalResponse(http.StatusAccepted, nil)
	resp.SetTerminalResponse(http.StatusOK, armcontainerservice.AgentPoolsClientDeleteResponse{}, nil)
	return resp, errResp
}

// finish ends an operation after its time and any hold: the pool becomes what work returns (nil:
// gone), or Failed.
func (s *Server) finish(name string, l *lro, d time.Duration, work func() (*armcontainerservice.AgentPool, error)) {
	if d > 0 {
		time.Sleep(d) // the simulated cloud's own latency, not a test's wait
	}
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		<-gate
	}
	final, err := work()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		l.failure = &Fault{Code: "NodeProvisioningFailed", Message: err.Error()}
	}
	switch {
	case l.failure != nil:
		if p := s.pools[name]; p != nil {
			p.Properties.ProvisioningState = ptr("Failed")
		}
	case final == nil:
		delete(s.pools, name)
	default:
		s.pools[name] = final
	}
	close(l.done)
}

func (s *Server) getPool(_ context.Context, _, _, name string, _ *armcontainerservice.AgentPoolsClientGetOptions) (resp azfake.Responder[armcontainerservice.AgentPoolsClientGetResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pools[name]
	if p == nil {
		errResp.SetResponseError(http.StatusNotFound, "NotFound")
		return resp, errResp
	}
	resp.SetResponse(http.StatusOK, armcontainerservice.AgentPoolsClientGetResponse{AgentPool: clonePool(p)}, nil)
	return resp, errResp
}

func (s *Server) list(_, _ string, _ *armcontainerservice.AgentPoolsClientListOptions) (resp azfake.PagerResponder[armcontainerservice.AgentPoolsClientListResponse]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var page armcontainerservice.AgentPoolListResult
	names := make([]string, 0, len(s.pools))
	for n := range s.pools {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		p := clonePool(s.pools[n])
		page.Value = append(page.Value, &p)
	}
	resp.AddPage(http.StatusOK, armcontainerservice.AgentPoolsClientListResponse{AgentPoolListResult: page}, nil)
	return resp
}

// clonePool deep-copies a pool through its JSON form, which is how ARM would hand it out.
func clonePool(p *armcontainerservice.AgentPool) armcontainerservice.AgentPool {
	var out armcontainerservice.AgentPool
	b, err := json.Marshal(p)
	if err == nil {
		err = json.Unmarshal(b, &out)
	}
	if err != nil {
		panic("akstest: copy agent pool: " + err.Error())
	}
	if out.Properties == nil {
		out.Properties = &armcontainerservice.ManagedClusterAgentPoolProfileProperties{}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
