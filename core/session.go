package jstp

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
)

// bufferedMessage is a call, event, inspect or ping kept until the peer
// proves it received it.
type bufferedMessage struct {
	id   int64 // absolute id
	msg  []byte
	sb   *sendBuf // the pooled buffer msg lies in, held by the session
	rest [][]byte // the parts after msg of a message in parts (encodeParts)
}

// Session is the state both sides of a JSTP connection keep beyond one
// transport: the session id the server issued, the user it belongs to,
// the delivery bookkeeping that makes resumption lossless, and (on the
// server) arbitrary per-session key/value state.
//
// All methods are safe for concurrent use.
type Session struct {
	id       string
	username string

	mu    sync.Mutex
	state map[string]any

	// receivedCount is the absolute id of the last call, event, inspect or
	// ping received from the peer.
	receivedCount int64
	// deliveredCount is the absolute id up to which the peer has proven
	// receipt of our messages.
	deliveredCount int64
	// lastID is the absolute id of the last message this side numbered.
	lastID int64
	buffer []bufferedMessage

	conn *Connection // the connection currently bound to the session

	events serialQueue // event handlers, in arrival order
}

func newSession(id, username string) *Session {
	if id == "" {
		id = newUUID()
	}
	return &Session{id: id, username: username, state: make(map[string]any)}
}

// ID returns the session id (a UUID v4 issued by the server).
func (s *Session) ID() string { return s.id }

// Username returns the authenticated user name, or "" for an anonymous
// session.
func (s *Session) Username() string { return s.username }

// Get returns the value stored under key in the session state.
func (s *Session) Get(key string) (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.state[key]
	return v, ok
}

// Set stores value under key in the session state.
func (s *Session) Set(key string, value any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state[key] = value
}

// Delete removes key from the session state.
func (s *Session) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.state, key)
}

// Keys returns the keys of the session state, sorted.
func (s *Session) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.state))
	for k := range s.state {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ReceivedCount returns the absolute id of the last call, event, inspect or
// ping received from the peer in this session.
func (s *Session) ReceivedCount() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.receivedCount
}

// Buffered returns how many sent messages await proof of delivery.
func (s *Session) Buffered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.buffer)
}

// Connection returns the connection the session is bound to, or nil.
func (s *Session) Connection() *Connection {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn
}

// nextIDLocked numbers a new message (absolute id). Caller holds s.mu.
func (s *Session) nextIDLocked() int64 {
	s.lastID++
	return s.lastID
}

func (s *Session) onMessageReceived(abs int64) {
	s.mu.Lock()
	if abs > s.receivedCount {
		s.receivedCount = abs
	}
	s.mu.Unlock()
}

// onDelivered drops the buffered messages up to abs, which the peer has
// proven to have received. It reports false when abs lies beyond what this
// side has sent (a forged or corrupt id), in which case nothing changes.
func (s *Session) onDelivered(abs int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if abs > s.lastID {
		return false
	}
	s.dropDeliveredLocked(abs)
	return true
}

func (s *Session) dropDeliveredLocked(abs int64) {
	if abs <= s.deliveredCount {
		return
	}
	n := 0
	for n < len(s.buffer) && s.buffer[n].id <= abs {
		s.buffer[n].sb.unhold()
		s.buffer[n] = bufferedMessage{}
		n++
	}
	if n == len(s.buffer) {
		// All delivered: keep the array from its start, so that a
		// connection with one message out at a time does not allocate a
		// new one for every message.
		s.buffer = s.buffer[:0]
	} else {
		s.buffer = s.buffer[n:]
	}
	s.deliveredCount = abs
}

// sessionExport is the string form of a session, in the field names the
// reference implementation uses for its own export.
type sessionExport struct {
	ID                      string   `json:"id"`
	Username                *string  `json:"username"`
	GuaranteedDeliveredCnt  int64    `json:"guaranteedDeliveredCount"`
	Buffer                  [][2]any `json:"buffer"`
	ReceivedCount           int64    `json:"receivedCount"`
	LatestBufferedMessageID int64    `json:"latestBufferedMessageId"`
	Storage                 [][2]any `json:"storage"`
}

// String exports the session, for storage outside the process, as JSON
// holding its id, user, delivery counters, buffered messages and state.
// State values must be representable in JSON. ImportSession reads it back.
func (s *Session) String() string {
	data, err := s.MarshalText()
	if err != nil {
		return fmt.Sprintf("jstp: unexportable session %s: %v", s.id, err)
	}
	return string(data)
}

// MarshalText implements encoding.TextMarshaler with the format of String.
func (s *Session) MarshalText() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ex := sessionExport{
		ID:                      s.id,
		GuaranteedDeliveredCnt:  s.deliveredCount,
		ReceivedCount:           s.receivedCount,
		LatestBufferedMessageID: s.lastID,
		Buffer:                  make([][2]any, 0, len(s.buffer)),
		Storage:                 make([][2]any, 0, len(s.state)),
	}
	if s.username != "" {
		u := s.username
		ex.Username = &u
	}
	for _, m := range s.buffer {
		ex.Buffer = append(ex.Buffer, [2]any{m.id, string(joinParts(m.msg, m.rest))})
	}
	keys := make([]string, 0, len(s.state))
	for k := range s.state {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ex.Storage = append(ex.Storage, [2]any{k, s.state[k]})
	}
	return json.Marshal(ex)
}

// ImportSession restores a session exported with Session.String.
func ImportSession(text string) (*Session, error) {
	var ex struct {
		ID                      string               `json:"id"`
		Username                *string              `json:"username"`
		GuaranteedDeliveredCnt  int64                `json:"guaranteedDeliveredCount"`
		Buffer                  [][2]json.RawMessage `json:"buffer"`
		ReceivedCount           int64                `json:"receivedCount"`
		LatestBufferedMessageID int64                `json:"latestBufferedMessageId"`
		Storage                 [][2]json.RawMessage `json:"storage"`
	}
	if err := json.Unmarshal([]byte(text), &ex); err != nil {
		return nil, fmt.Errorf("jstp: import session: %w", err)
	}
	if ex.ID == "" {
		return nil, fmt.Errorf("jstp: import session: no id")
	}
	s := newSession(ex.ID, "")
	if ex.Username != nil {
		s.username = *ex.Username
	}
	s.deliveredCount = ex.GuaranteedDeliveredCnt
	s.receivedCount = ex.ReceivedCount
	s.lastID = ex.LatestBufferedMessageID
	if s.lastID < 0 {
		s.lastID = -s.lastID // the reference stores the signed id on servers
	}
	for _, pair := range ex.Buffer {
		var id int64
		var msg string
		if err := json.Unmarshal(pair[0], &id); err != nil {
			return nil, fmt.Errorf("jstp: import session: buffer id: %w", err)
		}
		if err := json.Unmarshal(pair[1], &msg); err != nil {
			return nil, fmt.Errorf("jstp: import session: buffer message: %w", err)
		}
		if id < 0 {
			id = -id
		}
		s.buffer = append(s.buffer, bufferedMessage{id: id, msg: []byte(msg)})
		if id > s.lastID {
			s.lastID = id
		}
	}
	sort.Slice(s.buffer, func(i, j int) bool { return s.buffer[i].id < s.buffer[j].id })
	for _, pair := range ex.Storage {
		var k string
		var v any
		if err := json.Unmarshal(pair[0], &k); err != nil {
			return nil, fmt.Errorf("jstp: import session: state key: %w", err)
		}
		if err := json.Unmarshal(pair[1], &v); err != nil {
			return nil, fmt.Errorf("jstp: import session: state value: %w", err)
		}
		s.state[k] = v
	}
	return s, nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("jstp: no randomness: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	out := make([]byte, 36)
	j := 0
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j] = hex[c>>4]
		out[j+1] = hex[c&0xf]
		j += 2
	}
	return string(out)
}
