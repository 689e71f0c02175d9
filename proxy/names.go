package proxy

import (
	"net/netip"
	"sync"
	"time"
)

// syntheticNet holds the per-name addresses the DNS server hands out. A TCP
// connection to one of them is bound to the name it was handed out for.
var syntheticNet = netip.MustParsePrefix("198.19.0.0/16")

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
	next   netip.Addr
	size   int
}

type nameEntry struct {
	name    string
	addr    netip.Addr
	expires time.Time
}

func newNameTable(now func() time.Time) *nameTable {
	return &nameTable{
		now:    now,
		byName: map[string]*nameEntry{},
		byAddr: map[netip.Addr]*nameEntry{},
		next:   syntheticNet.Addr().Next(),
		size:   1<<(32-syntheticNet.Bits()) - 2,
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
		a := t.next
		t.next = a.Next()
		if !syntheticNet.Contains(t.next) || t.next == lastAddr(syntheticNet) {
			t.next = syntheticNet.Addr().Next()
		}
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

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]) | host
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
