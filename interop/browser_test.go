package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const chromiumHint = "install it with `apt-get install -y chromium chromium-driver` (or set CHROMIUM to a Chrome/Chromium binary)"

// chromiumBinary finds a headless-capable Chromium; the test fails (never
// skips) without one.
func chromiumBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("no Chromium found for the browser interoperability test; %s", chromiumHint)
	return ""
}

// browserChecks are the checks browser/page.html must report, all passing.
var browserChecks = []string{
	"connect and echo", "versions", "login", "errors", "events and inspect", "ping", "1 MiB payloads",
}

// wsServers are the Go WebSocket adapters' servers the browser talks to.
var wsServers = goServers[:3]

// TestBrowser loads the reference's browser bundle (dist/jstp.umd.js) in
// headless Chromium and has it talk to each Go WebSocket adapter's server.
func TestBrowser(t *testing.T) {
	chromium := chromiumBinary(t)
	bundle := filepath.Join(interopDir(t), "node_modules", "@metarhia", "jstp", "dist", "jstp.umd.js")
	if _, err := os.Stat(bundle); err != nil {
		t.Fatalf("the reference's browser bundle is missing (%v); %s", err, installHint)
	}
	page := filepath.Join(interopDir(t), "browser", "page.html")
	for _, gs := range wsServers {
		t.Run(gs.name, func(t *testing.T) {
			g := newGoApp(t)
			target := gs.start(t, g)
			results := servePage(t, page, bundle)
			pageURL := results.base + "/?ws=" + url.QueryEscape(target["url"].(string))
			runChromium(t, chromium, pageURL)
			got := results.collect(t, 90*time.Second)
			for _, name := range browserChecks {
				t.Run(name, func(t *testing.T) {
					r, ok := got[name]
					if !ok {
						t.Fatalf("the page did not report check %q", name)
					}
					if r["ok"] != true {
						t.Errorf("browser client, check %q failed: %v", name, r["error"])
					}
				})
			}
		})
	}
}

// pageServer serves the test page and the bundle and collects what the page
// reports.
type pageServer struct {
	base    string
	reports chan map[string]any
}

func servePage(t *testing.T, page, bundle string) *pageServer {
	ps := &pageServer{reports: make(chan map[string]any, 64)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		http.ServeFile(w, r, page)
	})
	mux.HandleFunc("GET /jstp.umd.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		http.ServeFile(w, r, bundle)
	})
	mux.HandleFunc("POST /report", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var m map[string]any
		if err == nil {
			err = json.Unmarshal(body, &m)
		}
		if err != nil {
			m = map[string]any{"check": "bad report", "ok": false, "error": fmt.Sprintf("%v: %q", err, body)}
		}
		select {
		case ps.reports <- m:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	l := localListener(t)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	serveUntilCleanup(t, func() error { return srv.Serve(l) }, srv.Shutdown, http.ErrServerClosed)
	ps.base = "http://" + l.Addr().String()
	return ps
}

// collect returns the page's reports by check name once it says done.
func (ps *pageServer) collect(t *testing.T, timeout time.Duration) map[string]map[string]any {
	got := map[string]map[string]any{}
	deadline := time.After(timeout)
	for {
		select {
		case m := <-ps.reports:
			if m["done"] == true {
				return got
			}
			got[fmt.Sprint(m["check"])] = m
		case <-deadline:
			t.Fatalf("the browser page did not finish within %v; reports so far: %s", timeout, jsonString(got))
		}
	}
}

// runChromium opens pageURL in headless Chromium, in a process group of its
// own that is killed when the test ends.
func runChromium(t *testing.T, chromium, pageURL string) {
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, chromium,
		"--headless",
		"--no-sandbox",
		"--disable-gpu",
		"--disable-dev-shm-usage",
		"--disable-background-networking",
		"--disable-component-update",
		"--disable-sync",
		"--disable-extensions",
		"--no-first-run",
		"--no-default-browser-check",
		"--mute-audio",
		"--user-data-dir="+t.TempDir(),
		"--remote-debugging-port=0",
		pageURL,
	)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// End the whole group: SIGTERM lets Chromium reap its helpers; what is
	// left after WaitDelay is killed.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 3 * time.Second
	var out strings.Builder
	cmd.Stdout = &lockedWriter{mu: new(sync.Mutex), w: &out}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting %s: %v; %s", chromium, err, chromiumHint)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("chromium output:\n%s", out.String())
		}
	})
}
