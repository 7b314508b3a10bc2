package tcp

import (
	"fmt"
	"strings"
)

// endpoint is a parsed address: network is "tcp", "tls" or "unix".
type endpoint struct {
	network string
	address string // host:port, or a socket path
}

// parseAddr parses "tcp://host:port", "tls://host:port", "unix:///path"
// (or "unix:path") and plain "host:port" (TCP).
func parseAddr(addr string) (endpoint, error) {
	scheme, rest, ok := strings.Cut(addr, "://")
	if !ok {
		if p, found := strings.CutPrefix(addr, "unix:"); found {
			scheme, rest = "unix", p
		} else {
			scheme, rest = "tcp", addr
		}
	}
	switch strings.ToLower(scheme) {
	case "tcp", "tls":
		rest = strings.TrimSuffix(rest, "/")
		if rest == "" || strings.ContainsAny(rest, "/?#") {
			return endpoint{}, fmt.Errorf("tcp: bad address %q: want host:port", addr)
		}
		return endpoint{network: strings.ToLower(scheme), address: rest}, nil
	case "unix":
		if rest == "" {
			return endpoint{}, fmt.Errorf("tcp: bad address %q: no socket path", addr)
		}
		return endpoint{network: "unix", address: rest}, nil
	}
	return endpoint{}, fmt.Errorf("tcp: bad address %q: scheme must be tcp, tls or unix", addr)
}
