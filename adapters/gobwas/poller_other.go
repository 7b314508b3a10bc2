//go:build !linux

package gobwas

import (
	"errors"
	"syscall"
)

// pollSupported reports whether this system has the epoll poller. Elsewhere
// every connection reads from a goroutine of its own.
const pollSupported = false

// poller is the epoll poller of Linux builds; here it never exists.
type poller struct{}

func newPoller(int) (*poller, error) {
	return nil, errors.New("gobwas: no epoll on this system")
}

func (p *poller) attach(*Transport) bool     { return false }
func (p *poller) arm(*Transport, bool) error { return errors.ErrUnsupported }
func (p *poller) remove(*Transport)          {}
func (p *poller) dispatch(*Transport) bool   { return false }
func (p *poller) stop()                      {}

var errWouldBlock = errors.New("gobwas: would block")

func rawRead(syscall.RawConn, []byte) (int, error) { return 0, errors.ErrUnsupported }
