package workspaces

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
)

// placeholderPatterns catch values copied from Kaito's docs and never filled in.
var placeholderPatterns = []*regexp.Regexp{
	regexp.MustCompile(`<[^<>\s]+>`),                             // <your-vm-sku>, <base64-encoded-huggingface-token>
	regexp.MustCompile(`\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*_HERE\b`), // ACR_REPO_HERE, ADAPTER_HERE
	regexp.MustCompile(`\bYOUR[_-][A-Za-z0-9_-]+`),               // YOUR_REGISTRY
	regexp.MustCompile(`(?i)\b(?:replace|change)[_-]?me\b`),      // REPLACE_ME, changeme
}

// placeholder returns the placeholder text in s, or "".
func placeholder(s string) string {
	// Every string of every document passes here: skip the regexps when no pattern can match.
	if !strings.ContainsRune(s, '<') && !strings.Contains(s, "HERE") && !strings.Contains(s, "YOUR") &&
		!strings.Contains(strings.ToLower(s), "me") {
		return ""
	}
	for _, re := range placeholderPatterns {
		if m := re.FindString(s); m != "" {
			return m
		}
	}
	return ""
}

func placeholderMessage(found string) string {
	return fmt.Sprintf("%q is a placeholder copied from the docs: replace it with your own value", found)
}

// imageReference follows the OCI distribution reference grammar: [domain[:port]/]path[:tag][@digest].
var imageReference = func() *regexp.Regexp {
	domainComponent := `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
	domain := domainComponent + `(?:\.` + domainComponent + `)*(?::[0-9]+)?`
	pathComponent := `[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`
	name := `(?:` + domain + `/)?` + pathComponent + `(?:/` + pathComponent + `)*`
	tag := `[\w][\w.-]{0,127}`
	digest := `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`
	return regexp.MustCompile(`^` + name + `(?::` + tag + `)?(?:@` + digest + `)?$`)
}()

// checkImage explains why s is not a usable image reference, or returns "". A placeholder comes
// first: "<your-registry>" is a more useful verdict than a grammar error.
func checkImage(s string) string {
	if p := placeholder(s); p != "" {
		return placeholderMessage(p) + " (an image reference such as myregistry.azurecr.io/adapter-phi3:0.0.1)"
	}
	return imageSyntax(s)
}

// imageSyntax checks s against the image reference grammar alone.
func imageSyntax(s string) string {
	if s == "" {
		return "an image reference is required"
	}
	if len(s) > 4096 || !imageReference.MatchString(s) {
		return fmt.Sprintf("%q is not a valid image reference (expected registry/repository:tag, lower-case, e.g. myregistry.azurecr.io/adapter-phi3:0.0.1)", s)
	}
	// The grammar allows any algorithm; the registries check sha256 and sha512 digests by length.
	if _, d, ok := strings.Cut(s, "@"); ok {
		alg, hexPart, _ := strings.Cut(d, ":")
		if (alg == "sha256" && len(hexPart) != 64) || (alg == "sha512" && len(hexPart) != 128) {
			return fmt.Sprintf("%q has a %s digest of %d hex digits; it must have %d", s, alg, len(hexPart), map[string]int{"sha256": 64, "sha512": 128}[alg])
		}
	}
	return ""
}

// dataImageShape says, for a valid image reference, whether it lacks a registry or a tag (or
// digest). Kaito v0.12.0 accepts both (reference.ParseDockerRef reads "dolly:1" as
// docker.io/library/dolly:1 and an untagged name as :latest), but an adapter or a data set on
// Docker Hub's library or under "latest" is rarely what was meant.
func dataImageShape(s string) string {
	name, _, digest := strings.Cut(s, "@")
	tagged := false
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		name, tagged = name[:i], true
	}
	switch {
	case !strings.Contains(name, "/"):
		return fmt.Sprintf("%q has no registry, so Kaito reads it as docker.io/library/%s: write the full reference, e.g. myregistry.azurecr.io/%s", s, s, s)
	case !tagged && !digest:
		return fmt.Sprintf("%q has no tag, so it means %s:latest: write the tag, e.g. %s:0.0.1", s, s, s)
	}
	return ""
}

// checkDownloadURL explains why a data URL must not be fetched, or returns "". Downloads run inside
// the cluster, so a URL pointing at loopback, private networks or the cloud metadata service would
// let a workspace file probe or steal from the cluster's own network (SSRF).
func checkDownloadURL(raw string) string {
	if p := placeholder(raw); p != "" {
		return placeholderMessage(p)
	}
	return downloadURLProblem(raw)
}

// downloadURLProblem is checkDownloadURL without the placeholder check.
func downloadURLProblem(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Sprintf("%q is not a valid URL", raw)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Sprintf("%q: only http and https URLs can be downloaded", raw)
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "" {
		return fmt.Sprintf("%q has no host", raw)
	}
	if strings.Trim(host, "abcdefghijklmnopqrstuvwxyz0123456789.-_:[]%") != "" {
		return fmt.Sprintf("%q has an invalid host %q", raw, host)
	}
	if u.User != nil {
		return fmt.Sprintf("%q carries credentials in the URL; they would be stored in Git and in the Job spec", redactURL(u))
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || host == "metadata" ||
		strings.HasPrefix(host, "metadata.") || strings.HasSuffix(host, ".internal") {
		return fmt.Sprintf("%q points at a local or metadata host; data must come from a public address", raw)
	}
	if addr, ok := parseHostIP(host); ok {
		if reason := forbiddenAddr(addr); reason != "" {
			return fmt.Sprintf("%q points at %s (%s); data must come from a public address", raw, addr, reason)
		}
		return ""
	}
	if reason := inClusterName(host); reason != "" {
		return fmt.Sprintf("%q names %s; data must come from a public address", raw, reason)
	}
	return ""
}

// inClusterName says why a host name (lower case, no trailing dot, not an address) reaches inside
// the cluster, or returns "". The download runs in a Pod, whose resolver expands names through the
// cluster's search domains: kubernetes.default is the API server, and a name without a dot (or a
// Service's "name.namespace") becomes a Service of the cluster.
func inClusterName(host string) string {
	switch {
	case host == "kubernetes" || host == "kubernetes.default" || strings.HasPrefix(host, "kubernetes.default."):
		return "the cluster's API server"
	case host == "svc" || strings.HasSuffix(host, ".svc") || strings.Contains(host, ".svc."):
		return "a Service inside the cluster"
	case host == "cluster.local" || strings.HasSuffix(host, ".cluster.local"):
		return "a name in the cluster's own DNS domain (cluster.local)"
	case !strings.Contains(strings.Trim(host, "[]"), ".") && !strings.Contains(host, ":"):
		return "a host without a domain, which the cluster's resolver reads as a Service inside the cluster"
	}
	return ""
}

func redactURL(u *url.URL) string {
	c := *u
	c.User = url.User("REDACTED")
	return c.String()
}

// parseHostIP reads a host that is an IP address, including the forms that browsers and curl accept
// but net.ParseIP does not (2130706433, 0x7f000001, 0177.0.0.1, 127.1): they are a common way around
// naive SSRF filters.
func parseHostIP(host string) (netip.Addr, bool) {
	host = strings.Trim(host, "[]")
	if addr, err := netip.ParseAddr(host); err == nil {
		return addr.Unmap(), true
	}
	parts := strings.Split(host, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var nums []uint64
	for _, p := range parts {
		n, ok := parseIPPart(p)
		if !ok {
			return netip.Addr{}, false
		}
		nums = append(nums, n)
	}
	// The last part fills the remaining bytes (inet_aton rules).
	var v uint64
	for i, n := range nums {
		if i < len(nums)-1 {
			if n > 255 {
				return netip.Addr{}, false
			}
			v = v<<8 | n
			continue
		}
		rest := uint(4 - i)
		if n >= 1<<(8*rest) {
			return netip.Addr{}, false
		}
		v = v<<(8*rest) | n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

func parseIPPart(p string) (uint64, bool) {
	if p == "" {
		return 0, false
	}
	base := 10
	switch {
	case strings.HasPrefix(p, "0x") || strings.HasPrefix(p, "0X"):
		base, p = 16, p[2:]
	case len(p) > 1 && p[0] == '0':
		base, p = 8, p[1:]
	}
	var n uint64
	if p == "" {
		return 0, base == 16
	}
	for _, c := range strings.ToLower(p) {
		var d uint64
		switch {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case c >= 'a' && c <= 'f':
			d = uint64(c-'a') + 10
		default:
			return 0, false
		}
		if d >= uint64(base) {
			return 0, false
		}
		n = n*uint64(base) + d
		if n > 1<<32 {
			return 0, false
		}
	}
	return n, true
}

var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// embeddingPrefixes are IPv6 ranges that carry an IPv4 address a gateway or the host stack will
// reach: IPv4-compatible (::a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), NAT64 and 6to4.
var embeddingPrefixes = []struct {
	prefix netip.Prefix
	offset int // byte offset of the IPv4 address
}{
	{netip.MustParsePrefix("::/96"), 12},
	{netip.MustParsePrefix("::ffff:0:0:0/96"), 12},
	{netip.MustParsePrefix("64:ff9b::/96"), 12},
	{netip.MustParsePrefix("64:ff9b:1::/48"), 12},
	{netip.MustParsePrefix("2002::/16"), 2},
}

func forbiddenAddr(a netip.Addr) string {
	if r := forbiddenDirect(a); r != "" || !a.Is6() {
		return r
	}
	for _, e := range embeddingPrefixes {
		if e.prefix.Contains(a) {
			b := a.As16()
			v4 := netip.AddrFrom4([4]byte(b[e.offset : e.offset+4]))
			if r := forbiddenDirect(v4); r != "" {
				return r + ", embedded in an IPv6 address"
			}
		}
	}
	return ""
}

func forbiddenDirect(a netip.Addr) string {
	ip := net.IP(a.AsSlice())
	switch {
	case a.IsLoopback():
		return "loopback"
	case a.IsUnspecified():
		return "unspecified address"
	case a == netip.MustParseAddr("169.254.169.254") || a == netip.MustParseAddr("fd00:ec2::254"):
		return "cloud metadata service"
	case a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast():
		return "link-local"
	case a.IsPrivate() || sharedAddressSpace.Contains(a):
		return "private network"
	case a.IsMulticast() || ip.Equal(net.IPv4bcast):
		return "multicast or broadcast"
	}
	return ""
}
