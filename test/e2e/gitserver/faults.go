package gitserver

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Fault is how the server misbehaves, for every request, until ClearFault: the ways a Git host
// fails a client in production (an outage answering 500, an overloaded host answering late).
// A host that is down altogether is Stop.
type Fault struct {
	// Status, when set, answers every request with this HTTP status and a short body.
	Status int
	// Delay holds every request this long before it is served (or failed with Status). A client
	// that gives up first ends the wait.
	Delay time.Duration
}

// SetFault makes the server misbehave until ClearFault.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setFaultLocked(f)
}

// ClearFault makes the server behave again; requests being delayed are served at once.
func (s *Server) ClearFault() { s.SetFault(Fault{}) }

func (s *Server) setFaultLocked(f Fault) {
	s.fault = f
	if s.wake != nil {
		close(s.wake)
	}
	s.wake = make(chan struct{})
}

// Served counts the requests that reached the server, faulted ones included: a test waits on it
// to know a client has tried.
func (s *Server) Served() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served
}

// faulty applies the current Fault before next.
func (s *Server) faulty(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.served++
		f, wake := s.fault, s.wake
		s.mu.Unlock()
		if f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			select {
			case <-t.C:
			case <-wake: // the fault changed: serve under the new one
				t.Stop()
				s.mu.Lock()
				f = s.fault
				s.mu.Unlock()
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if f.Status != 0 {
			http.Error(w, fmt.Sprintf("injected fault: %d %s", f.Status, http.StatusText(f.Status)), f.Status)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Stop takes the server off the network: the listener and every open connection are closed, so
// clients meet "connection refused" until Restart. Repositories are kept.
func (s *Server) Stop() error {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return errors.New("gitserver: already stopped")
	}
	return srv.Close()
}

// Restart serves again on the address the server had, so clients need no new URL.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return errors.New("gitserver: not stopped")
	}
	// The port was ours a moment ago; a listener closing in the kernel can hold it briefly.
	var l net.Listener
	var err error
	for range 50 {
		if l, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("gitserver: listen again on %s: %w", s.addr, err)
	}
	s.serve(l)
	return nil
}
