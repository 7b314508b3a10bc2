package conformance

import (
	"errors"
	"fmt"

	jstp "github.com/jstp-go/jstp/core"
)

func init() {
	register("Versions",
		testCase{"Newest", testVersionsNewest},
		testCase{"Exact", testVersionsExact},
		testCase{"Range", testVersionsRange},
		testCase{"RangeWire", testVersionsRangeWire},
		testCase{"NotFound", testVersionsNotFound},
		testCase{"NotFoundWire", testVersionsNotFoundWire},
		testCase{"InvalidApplicationVersion", testVersionsInvalidApplicationVersion},
		testCase{"UpdateMovesRange", testVersionsUpdateMovesRange},
		testCase{"UpdateKeepsExact", testVersionsUpdateKeepsExact},
		testCase{"UpdateKeepsWhenNoneInRange", testVersionsUpdateKeepsWhenNoneInRange},
		testCase{"UpdateNewConnections", testVersionsUpdateNewConnections},
	)
}

// versionsServer serves app@1.0.0, app@1.1.0 and app@2.0.0, each answering
// iface.version().
func (e *env) versionsServer(versions ...string) (*jstp.Server, string) {
	e.t.Helper()
	if len(versions) == 0 {
		versions = []string{"1.0.0", "1.1.0", "2.0.0"}
	}
	var apps []*jstp.Application
	for _, v := range versions {
		apps = append(apps, e.testApp(appName+"@"+v, nil))
	}
	return e.listen(jstp.ServerOptions{Applications: apps})
}

// versionOf asks the connected application its version.
func (c *client) versionOf() string {
	c.d.e.t.Helper()
	got := c.call("version")
	if len(got) != 1 {
		c.d.e.fatalf("version() = %v", got)
	}
	s, _ := got[0].(string)
	return s
}

// No version: the newest.
func testVersionsNewest(e *env) {
	_, addr := e.versionsServer()
	if v := e.connect(addr, appName).versionOf(); v != "2.0.0" {
		e.t.Errorf("app without version connected to %s, want 2.0.0", v)
	}
}

// An exact version: that one.
func testVersionsExact(e *env) {
	_, addr := e.versionsServer()
	for _, v := range []string{"1.0.0", "1.1.0", "2.0.0"} {
		if got := e.connect(addr, appName+"@"+v).versionOf(); got != v {
			e.t.Errorf("app@%s connected to %s", v, got)
		}
	}
}

// A range: the newest version that satisfies it.
func testVersionsRange(e *env) {
	_, addr := e.versionsServer()
	for _, tc := range []struct{ rng, want string }{
		{"^1.0.0", "1.1.0"}, {"1", "1.1.0"}, {"1.0", "1.0.0"}, {"~1.0.0", "1.0.0"},
		{">=1.0.0", "2.0.0"}, {"1.x", "1.1.0"}, {"<1.1.0", "1.0.0"},
	} {
		if got := e.connect(addr, appName+"@"+tc.rng).versionOf(); got != tc.want {
			e.t.Errorf("app@%s connected to %s, want %s", tc.rng, got, tc.want)
		}
	}
}

// The version travels as the third element of the handshake.
func testVersionsRangeWire(e *env) {
	_, addr := e.versionsServer()
	c := e.connect(addr, appName+"@^1.0.0")
	first := c.log.filter(func(m wireMsg) bool { return m.dir == out })[0]
	if want := "{handshake:[0,'app','^1.0.0']}"; first.text != want {
		e.t.Errorf("client handshake = %s, want %s", first.text, want)
	}
	for i, tc := range []struct{ hs, want string }{
		{"{handshake:[0,'app','1.0.0']}", "1.0.0"},
		{"{handshake:[0,'app','^1.0.0']}", "1.1.0"},
		{"{handshake:[0,'app']}", "2.0.0"},
	} {
		rc := e.raw(addr)
		rc.send(tc.hs)
		rc.expectMatch(`\{handshake:\[0\],ok:'` + uuidV4 + `'\}`)
		rc.send("{call:[1,'iface'],version:[]}")
		rc.expect(fmt.Sprintf("{callback:[1],ok:['%s']}", tc.want))
		_ = i
	}
}

// No matching version: 10.
func testVersionsNotFound(e *env) {
	_, addr := e.versionsServer()
	for _, v := range []string{"^3.0.0", "1.0.5", "3"} {
		_, err := e.tryConnect(addr, appName+"@"+v)
		if !errors.Is(err, jstp.ErrAppNotFound) {
			e.t.Errorf("app@%s: err = %v, want 10", v, err)
		}
	}
}

// The server answers a version it does not have, or an invalid range, with
// {handshake:[0],error:[10]}.
func testVersionsNotFoundWire(e *env) {
	_, addr := e.versionsServer()
	for _, hs := range []string{"{handshake:[0,'app','3.0.0']}", "{handshake:[0,'app','^9']}", "{handshake:[0,'app','not a range!']}"} {
		rc := e.raw(addr)
		rc.send(hs)
		rc.expect("{handshake:[0],error:[10]}")
		rc.expectClosed("after " + hs)
	}
}

// An application with an invalid version is refused at construction, and a
// client asking for an invalid range fails before sending anything.
func testVersionsInvalidApplicationVersion(e *env) {
	for _, name := range []string{"app@1", "app@x.y.z", "app@1.0.0.0"} {
		if _, err := jstp.NewApplication(name); err == nil {
			e.t.Errorf("NewApplication(%q) accepted an invalid version", name)
		}
	}
	_, addr := e.versionsServer()
	c, err := e.tryConnect(addr, appName+"@not a range!")
	if err == nil {
		e.t.Errorf("Connect with an invalid range succeeded")
	}
	if c != nil && c.log != nil {
		for _, m := range c.log.filter(func(m wireMsg) bool { return m.dir == out }) {
			e.t.Errorf("sent %s despite the invalid range", m.text)
		}
	}
}

// UpdateApplications moves a connection that asked for a range to the
// newest version still in that range.
func testVersionsUpdateMovesRange(e *env) {
	srv, addr := e.versionsServer("1.0.0", "1.1.0", "2.0.0")
	c := e.connect(addr, appName+"@^1.0.0")
	if v := c.versionOf(); v != "1.1.0" {
		e.fatalf("connected to %s", v)
	}
	update(e, srv, "1.0.0", "1.1.0", "1.2.0", "2.0.0", "2.1.0")
	if v := c.versionOf(); v != "1.2.0" {
		e.t.Errorf("after the update a ^1.0.0 connection uses %s, want 1.2.0", v)
	}
}

// A connection that asked for an exact version stays on it.
func testVersionsUpdateKeepsExact(e *env) {
	srv, addr := e.versionsServer("1.0.0", "1.1.0")
	c := e.connect(addr, appName+"@1.0.0")
	update(e, srv, "1.0.0", "1.1.0", "1.2.0")
	if v := c.versionOf(); v != "1.0.0" {
		e.t.Errorf("after the update an exact 1.0.0 connection uses %s", v)
	}
}

// When nothing is left in its range, a connection keeps its application.
func testVersionsUpdateKeepsWhenNoneInRange(e *env) {
	srv, addr := e.versionsServer("1.0.0")
	c := e.connect(addr, appName+"@1")
	update(e, srv, "2.0.0")
	if v := c.versionOf(); v != "1.0.0" {
		e.t.Errorf("after an update with nothing in range, the connection uses %s, want 1.0.0", v)
	}
}

// New connections see the updated applications.
func testVersionsUpdateNewConnections(e *env) {
	srv, addr := e.versionsServer("1.0.0")
	update(e, srv, "1.1.0")
	if v := e.connect(addr, appName).versionOf(); v != "1.1.0" {
		e.t.Errorf("new connection after the update uses %s, want 1.1.0", v)
	}
	if _, err := e.tryConnect(addr, appName+"@1.0.0"); !errors.Is(err, jstp.ErrAppNotFound) {
		e.t.Errorf("connecting to a removed version: err = %v, want 10", err)
	}
}

// update replaces the server's applications with the given versions.
func update(e *env, srv *jstp.Server, versions ...string) {
	e.t.Helper()
	var apps []*jstp.Application
	for _, v := range versions {
		apps = append(apps, e.testApp(appName+"@"+v, nil))
	}
	if err := srv.UpdateApplications(apps...); err != nil {
		e.fatalf("UpdateApplications: %v", err)
	}
}
