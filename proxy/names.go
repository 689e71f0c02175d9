package proxy

import (
	"net/netip"
	"sync"
	"time"
)

// syntheticNet holds the per-name addresses the DNS server hands out. A TCP
// connection to one of them is bound to the name it was handed out for.
var syntheticNet = netip.MustParsePrefix("198.19.0.0/16")

// syntheticPoolSize is the number of synthetic addresses in syntheticNet.
const syntheticPoolSize = 1<<(32-16) - 2

// nameLifetime is how long a synthetic address stays bound to its name after
// the last lookup or connection. It is far longer than the TTLs handed out
// (capped at maxClientTTL), so clients that cache beyond the TTL keep working.
const nameLifetime = time.Hour

// nameTable maps names to synthetic addresses and back.
type nameTable struct {
	mu     sync.Mutex
	now    func() time.Time
	byName map[string]*nameEntry
	byAddr map[netip.Addr]*nameEntry
	next   int // the pool index freeAddr looks at first
	size   int
}

type nameEntry struct {
	name    string
	addr    netip.Addr
	expires time.Time
}

// newNameTable returns an empty table handing out size addresses of
// syntheticNet (at most syntheticPoolSize).
func newNameTable(now func() time.Time, size int) *nameTable {
	return &nameTable{
		now:    now,
		byName: map[string]*nameEntry{},
		byAddr: map[netip.Addr]*nameEntry{},
		size:   min(size, syntheticPoolSize),
	}
}

// addrFor returns the synthetic address bound to name, binding a fresh one
// (or an expired one, or failing that the least recently used) if needed.
func (t *nameTable) addrFor(name string) netip.Addr {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if e, ok := t.byName[name]; ok {
		e.expires = now.Add(nameLifetime)
		return e.addr
	}
	addr := t.freeAddr(now)
	if old, ok := t.byAddr[addr]; ok {
		delete(t.byName, old.name)
	}
	e := &nameEntry{name: name, addr: addr, expires: now.Add(nameLifetime)}
	t.byName[name] = e
	t.byAddr[addr] = e
	return addr
}

// freeAddr walks the pool from the cursor for an unused or expired address;
// with the pool full of live bindings it takes the one that expires first.
func (t *nameTable) freeAddr(now time.Time) netip.Addr {
	var oldest *nameEntry
	for range t.size {
		a := poolAddr(t.next)
		t.next = (t.next + 1) % t.size
		e, used := t.byAddr[a]
		if !used || now.After(e.expires) {
			return a
		}
		if oldest == nil || e.expires.Before(oldest.expires) {
			oldest = e
		}
	}
	return oldest.addr
}

// poolAddr is the i-th address of the pool: syntheticNet's network address
// and its broadcast address are never handed out.
func poolAddr(i int) netip.Addr {
	b := syntheticNet.Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) + 1 + uint32(i)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// nameOf returns the live name bound to addr and refreshes its lifetime.
func (t *nameTable) nameOf(addr netip.Addr) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.byAddr[addr.Unmap()]
	now := t.now()
	if !ok || now.After(e.expires) {
		return "", false
	}
	e.expires = now.Add(nameLifetime)
	return e.name, true
}
