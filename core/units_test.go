package jstp

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/jstp-go/jstp/core/mdsf"
)

func TestRemoteErrorWire(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{ErrAuthFailed, "[11]"},
		{NewError(CodeMethodNotFound, "custom text is not sent"), "[14]"},
		{NewError(42, "custom failure"), "[42,'custom failure']"},
		{NewError(42, "with info", "a", 1.0), "[42,'with info','a',1]"},
		{NewError(1, "bare string"), "[1,'bare string']"},
		{errors.New("internal detail"), "[16]"},
		{fmt.Errorf("wrapped: %w", NewError(50, "inner")), "[50,'inner']"},
	}
	for _, tt := range tests {
		got, err := mdsf.Stringify(toWireError(tt.err))
		if err != nil || got != tt.want {
			t.Errorf("%v: got %s (%v), want %s", tt.err, got, err, tt.want)
		}
	}
}

func TestRemoteErrorFromWire(t *testing.T) {
	tests := []struct {
		in   string
		code int
		msg  string
		info int
	}{
		{"[11]", 11, "Authentication failed", 0},
		{"[42,'boom']", 42, "boom", 0},
		{"[42,'boom',1,'x']", 42, "boom", 2},
		{"[77]", 77, "", 0},
	}
	for _, tt := range tests {
		v, err := mdsf.ParseString(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		e := errorFromWire(v)
		if e.Code != tt.code || e.Message != tt.msg || len(e.Info) != tt.info {
			t.Errorf("%s: got %+v", tt.in, e)
		}
		if !errors.Is(e, &RemoteError{Code: tt.code}) {
			t.Errorf("%s: errors.Is by code fails", tt.in)
		}
	}
	if errors.Is(errorFromWire([]any{11.0}), ErrAppNotFound) {
		t.Error("code 11 matches ErrAppNotFound")
	}
}

func TestAppsIndexLookup(t *testing.T) {
	var apps []*Application
	for _, v := range []string{"1.0.0", "1.2.0", "1.10.1", "2.0.0", "2.1.0-beta.1"} {
		app, err := NewApplication("app@" + v)
		if err != nil {
			t.Fatal(err)
		}
		apps = append(apps, app)
	}
	idx, err := NewAppsIndex(apps...)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, version, want string }{
		{"app", "", "2.1.0-beta.1"},
		{"app", "1.2.0", "1.2.0"},
		{"app", "1.3.0", ""},
		{"app", "^1.0.0", "1.10.1"},
		{"app", "~1.2", "1.2.0"},
		{"app", "1.x", "1.10.1"},
		{"app", ">=2.0.0", "2.0.0"},
		{"app", "^3", ""},
		{"app", "not a range", ""},
		{"other", "", ""},
	}
	for _, tt := range tests {
		got := idx.Lookup(tt.name, tt.version)
		gotV := ""
		if got != nil {
			gotV = got.Version()
		}
		if gotV != tt.want {
			t.Errorf("Lookup(%q, %q) = %q, want %q", tt.name, tt.version, gotV, tt.want)
		}
	}
	if _, err := NewAppsIndex(apps[0], MustNewApplication("app@1.0.0")); err == nil {
		t.Error("duplicate application accepted")
	}
}

func TestNewApplicationVersions(t *testing.T) {
	tests := []struct {
		name    string
		version string
		ok      bool
	}{
		{"app", "1.0.0", true},
		{"app@2.3.4", "2.3.4", true},
		{"@scope/app@1.0.1", "1.0.1", true},
		{"app@1.0", "", false},
		{"app@banana", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		app, err := NewApplication(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("NewApplication(%q) error %v, want ok=%v", tt.name, err, tt.ok)
			continue
		}
		if tt.ok && app.Version() != tt.version {
			t.Errorf("NewApplication(%q) version %s, want %s", tt.name, app.Version(), tt.version)
		}
	}
}

func TestTypedHandle(t *testing.T) {
	app := MustNewApplication("app")
	type point struct {
		X, Y float64
	}
	tests := []struct {
		name    string
		fn      any
		args    []any
		want    []any
		wantErr error
	}{
		{"plain", func(a, b int) int { return a + b }, []any{2.0, 3.0}, []any{5}, nil},
		{"ctx and conn", func(ctx context.Context, c *Connection, s string) string { return s + "!" }, []any{"hi"}, []any{"hi!"}, nil},
		{"struct arg", func(p point) float64 { return p.X * p.Y }, []any{mdsf.Object{{Key: "X", Value: 2.0}, {Key: "Y", Value: 4.0}}}, []any{8.0}, nil},
		{"variadic", func(xs ...float64) int { return len(xs) }, []any{1.0, 2.0, 3.0}, []any{3}, nil},
		{"no results", func() {}, []any{}, []any{}, nil},
		{"error result", func() (int, error) { return 0, NewError(99, "nope") }, []any{}, nil, &RemoteError{Code: 99}},
		{"too few", func(a, b int) int { return a + b }, []any{2.0}, nil, ErrInvalidSignature},
		{"too many", func(a int) int { return a }, []any{2.0, 3.0}, nil, ErrInvalidSignature},
		{"wrong type", func(a int) int { return a }, []any{"two"}, nil, ErrInvalidSignature},
		{"panic", func() int { panic("boom") }, []any{}, nil, ErrInternalAPIError},
	}
	conn := newConnection(nil, &Client{}, &logger{})
	t.Cleanup(conn.cancel)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := app.Handle("iface", tt.name, tt.fn); err != nil {
				t.Fatal(err)
			}
			got, err := app.call(context.Background(), conn, "iface", tt.name, tt.args)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, %v; want %#v", got, err, tt.want)
			}
		})
	}
	if err := app.Handle("iface", "bad", 42); err == nil {
		t.Error("Handle accepted a non-function")
	}
	if err := app.Handle("iface", "bad", func() (error, int) { return nil, 0 }); err == nil {
		t.Error("Handle accepted an error that is not the last result")
	}
}

func TestSessionExportImport(t *testing.T) {
	s := newSession("", "alice")
	s.Set("cart", []any{"apple", 2.0})
	s.receivedCount = 7
	s.lastID = 3
	s.deliveredCount = 1
	s.buffer = []bufferedMessage{{id: 2, msg: []byte("{call:[2,'i'],m:[]}")}, {id: 3, msg: []byte("{ping:[3]}")}}
	text := s.String()
	got, err := ImportSession(text)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID() != s.ID() || got.Username() != "alice" || got.receivedCount != 7 || got.lastID != 3 || got.deliveredCount != 1 {
		t.Fatalf("imported %+v", got)
	}
	if len(got.buffer) != 2 || string(got.buffer[1].msg) != "{ping:[3]}" {
		t.Fatalf("buffer %+v", got.buffer)
	}
	if v, ok := got.Get("cart"); !ok || !reflect.DeepEqual(v, []any{"apple", 2.0}) {
		t.Fatalf("state %v", v)
	}
	if _, err := ImportSession("{"); err == nil {
		t.Error("bad text imported")
	}
	if len(newUUID()) != 36 || newUUID()[14] != '4' {
		t.Error("not a v4 UUID")
	}
}

func TestMemoryStoragePurge(t *testing.T) {
	now := time.Unix(1000, 0)
	m := newMemoryStorageClock(24*time.Hour, time.Hour, func() time.Time { return now })
	ctx := context.Background()
	a, b := newSession("", ""), newSession("", "")
	m.Set(ctx, a.ID(), a)
	m.Set(ctx, b.ID(), b)
	m.SetInactive(ctx, a.ID())
	now = now.Add(23 * time.Hour)
	if s, _ := m.Get(ctx, a.ID()); s != a {
		t.Fatal("session purged too early")
	}
	m.SetInactive(ctx, a.ID()) // Get made it active; inactive again from now
	now = now.Add(24*time.Hour + time.Minute)
	if s, _ := m.Get(ctx, a.ID()); s != nil {
		t.Fatal("inactive session not purged after its lifetime")
	}
	if s, _ := m.Get(ctx, b.ID()); s != b {
		t.Fatal("active session purged")
	}
}

func TestBackoff(t *testing.T) {
	b := DefaultReconnector()
	want := []time.Duration{1, 2, 4, 8, 16, 32, 32, 32}
	for i, w := range want {
		d, dial, ok := b.NextAttempt(nil, i, nil)
		if !ok || dial != nil {
			t.Fatal("default reconnector gave up")
		}
		lo, hi := w*time.Second, w*time.Second+time.Second
		if d < lo || d > hi {
			t.Errorf("attempt %d: %v, want in [%v, %v]", i, d, lo, hi)
		}
	}
}

func TestParseAppTarget(t *testing.T) {
	tests := []struct {
		in, name, version string
		ok                bool
	}{
		{"app", "app", "", true},
		{"app@^1.2.0", "app", "^1.2.0", true},
		{"app@1.2.3", "app", "1.2.3", true},
		{"app@>=1 <2", "app", ">=1 <2", true},
		{"app@!!", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		got, err := parseAppTarget(tt.in)
		if (err == nil) != tt.ok || tt.ok && (got.name != tt.name || got.version != tt.version) {
			t.Errorf("parseAppTarget(%q) = %+v, %v", tt.in, got, err)
		}
	}
}

func TestAppRef(t *testing.T) {
	for _, tt := range []struct{ name, version, want string }{
		{"app", "", "app"},
		{"app", "^1.2.0", "app@^1.2.0"},
		{"@scope/app", "1.0.0", "@scope/app@1.0.0"},
	} {
		if got := AppRef(tt.name, tt.version); got != tt.want {
			t.Errorf("AppRef(%q, %q) = %q", tt.name, tt.version, got)
		}
		target, err := parseAppTarget(AppRef(tt.name, tt.version))
		if err != nil || target.name != tt.name || target.version != tt.version {
			t.Errorf("round trip of %q@%q: %+v, %v", tt.name, tt.version, target, err)
		}
	}
}
