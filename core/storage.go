package jstp

import (
	"context"
	"sync"
	"time"
)

// Session storage defaults, from the reference's simple provider.
const (
	// DefaultInactiveSessionLifetime is how long the in-memory provider keeps
	// a session that nobody has resumed.
	DefaultInactiveSessionLifetime = 24 * time.Hour
	// DefaultPurgeInterval is how often the in-memory provider looks for
	// sessions to purge.
	DefaultPurgeInterval = time.Hour
)

// SessionStorageProvider stores the sessions of closed connections so that
// a client can resume them later, possibly after the server's own in-memory
// cache (see ServerOptions.ClientExpiration) forgot them.
//
// Methods may block (for an external store): ctx bounds them. Get returns
// nil and no error for an unknown session.
type SessionStorageProvider interface {
	Get(ctx context.Context, id string) (*Session, error)
	Set(ctx context.Context, id string, s *Session) error
}

// InactiveMarker is an optional interface of a SessionStorageProvider: the
// server calls SetInactive when the connection of a stored session closes,
// so the provider can expire it later.
type InactiveMarker interface {
	SetInactive(ctx context.Context, id string) error
}

// MemoryStorage is the default SessionStorageProvider: sessions in memory,
// purged once inactive for Lifetime. It holds no goroutine: the purge runs
// during Get and Set, at most once per PurgeInterval.
type MemoryStorage struct {
	lifetime time.Duration
	interval time.Duration
	now      func() time.Time

	mu        sync.Mutex
	sessions  map[string]*storedSession
	lastPurge time.Time
}

type storedSession struct {
	s        *Session
	inactive time.Time // zero while active
}

// NewMemoryStorage returns an in-memory provider purging sessions inactive
// for lifetime, checked every purgeInterval. Zero values take the defaults
// (24 h and 1 h).
func NewMemoryStorage(lifetime, purgeInterval time.Duration) *MemoryStorage {
	return newMemoryStorageClock(lifetime, purgeInterval, time.Now)
}

func newMemoryStorageClock(lifetime, purgeInterval time.Duration, now func() time.Time) *MemoryStorage {
	if lifetime <= 0 {
		lifetime = DefaultInactiveSessionLifetime
	}
	if purgeInterval <= 0 {
		purgeInterval = DefaultPurgeInterval
	}
	return &MemoryStorage{
		lifetime:  lifetime,
		interval:  purgeInterval,
		now:       now,
		sessions:  make(map[string]*storedSession),
		lastPurge: now(),
	}
}

// Get returns the stored session and marks it active again.
func (m *MemoryStorage) Get(_ context.Context, id string) (*Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.purgeLocked()
	st := m.sessions[id]
	if st == nil {
		return nil, nil
	}
	st.inactive = time.Time{}
	return st.s, nil
}

// Set stores s under id, as active.
func (m *MemoryStorage) Set(_ context.Context, id string, s *Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.purgeLocked()
	m.sessions[id] = &storedSession{s: s}
	return nil
}

// SetInactive starts the inactivity clock of the session id.
func (m *MemoryStorage) SetInactive(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st := m.sessions[id]; st != nil {
		st.inactive = m.now()
	}
	return nil
}

// Len returns the number of stored sessions.
func (m *MemoryStorage) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions)
}

func (m *MemoryStorage) purgeLocked() {
	now := m.now()
	if now.Sub(m.lastPurge) < m.interval {
		return
	}
	m.lastPurge = now
	for id, st := range m.sessions {
		if !st.inactive.IsZero() && now.Sub(st.inactive) >= m.lifetime {
			delete(m.sessions, id)
		}
	}
}
