package aks

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/kaito-sync/kaito-sync/provision"
)

// failure is an ARM error turned into what a user can act on.
type failure struct {
	Reason  string
	Message string
	// RetryAfter is the server's Retry-After on a 429, else 0.
	RetryAfter time.Duration
	NotFound   bool
}

// armError is the "error" object of an ARM error body or of a failed operation's status.
type armError struct {
	Code    string     `json:"code"`
	Message string     `json:"message"`
	Details []armError `json:"details"`
}

var (
	reQuotaFamily = regexp.MustCompile(`(\w+) Cores quota`)
	reLimit       = regexp.MustCompile(`Current Limit: (\d+)`)
	reUsage       = regexp.MustCompile(`Current Usage: (\d+)`)
	reRequired    = regexp.MustCompile(`Additional Required: (\d+)`)
	reLocation    = regexp.MustCompile(`Location: ([\w-]+)`)
)

// classify turns an error from the agent pools API into a reason and a message naming the pool,
// the SKU and, for quota errors, the figures ARM gave.
func classify(pool, sku string, count int, err error) failure {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return failure{Reason: provision.ReasonProvisioningFailed, Message: fmt.Sprintf("agent pool %s: %v", pool, err)}
	}
	ae := bodyError(re)
	code := re.ErrorCode
	if code == "" {
		code = ae.Code
	}
	msg := ae.Message
	for _, d := range ae.Details { // AKS puts the useful text of a failed deployment in details
		if d.Message != "" && !strings.Contains(msg, d.Message) {
			msg = strings.TrimSpace(msg + " " + d.Message)
		}
	}
	if msg == "" {
		msg = http.StatusText(re.StatusCode)
	}
	all := code + " " + msg
	lower := strings.ToLower(all)
	switch {
	case re.StatusCode == http.StatusNotFound:
		return failure{NotFound: true, Reason: provision.ReasonProvisioningFailed, Message: fmt.Sprintf("agent pool %s: not found", pool)}
	case re.StatusCode == http.StatusTooManyRequests:
		after := retryAfter(re.RawResponse)
		return failure{Reason: provision.ReasonThrottled, RetryAfter: after,
			Message: fmt.Sprintf("agent pool %s: Azure Resource Manager is throttling requests (429 %s); retrying after %s", pool, code, after)}
	case strings.Contains(lower, "quota"):
		return failure{Reason: provision.ReasonQuotaExceeded, Message: quotaMessage(pool, sku, count, code, msg)}
	case strings.Contains(lower, "skunotavailable") || strings.Contains(lower, "vmsizenotsupported") ||
		strings.Contains(lower, "invalidvmsize") || strings.Contains(lower, "not available in location") ||
		strings.Contains(lower, "not allowed in your subscription"):
		return failure{Reason: provision.ReasonSKUNotAvailable,
			Message: fmt.Sprintf("agent pool %s: VM size %s is not available to this cluster's subscription and region (%s: %s); pick another instanceType or ask Azure for access", pool, sku, code, msg)}
	}
	return failure{Reason: provision.ReasonProvisioningFailed,
		Message: fmt.Sprintf("agent pool %s: %s×%d failed (HTTP %d %s): %s", pool, sku, count, re.StatusCode, code, msg)}
}

func quotaMessage(pool, sku string, count int, code, msg string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "agent pool %s: %s×%d exceeds the subscription's quota", pool, sku, count)
	if m := reQuotaFamily.FindStringSubmatch(msg); m != nil {
		fmt.Fprintf(&b, " for %s vCPUs", m[1])
	}
	var figures []string
	for _, f := range []struct {
		re   *regexp.Regexp
		name string
	}{{reLocation, "region"}, {reLimit, "limit"}, {reUsage, "in use"}, {reRequired, "more needed"}} {
		if m := f.re.FindStringSubmatch(msg); m != nil {
			figures = append(figures, f.name+" "+m[1])
		}
	}
	if len(figures) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(figures, ", "))
	}
	fmt.Fprintf(&b, "; request a quota increase or a smaller instanceType/count. ARM said %s: %s", code, msg)
	return b.String()
}

// bodyError reads the ARM error object from the response body, when there is one.
func bodyError(re *azcore.ResponseError) armError {
	if re.RawResponse == nil {
		return armError{}
	}
	body, err := runtime.Payload(re.RawResponse)
	if err != nil || len(body) == 0 {
		return armError{}
	}
	var env struct {
		Error armError `json:"error"`
	}
	if json.Unmarshal(body, &env) != nil {
		return armError{}
	}
	return env.Error
}

// retryAfter reads Retry-After (seconds or an HTTP date); 30s when absent, as ARM suggests.
func retryAfter(resp *http.Response) time.Duration {
	const fallback = 30 * time.Second
	if resp == nil {
		return fallback
	}
	v := resp.Header.Get("Retry-After")
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return fallback
}
