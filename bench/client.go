package main

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"time"
)

// Requests of the bench's loopback server: the client's first byte.
const (
	reqSend = 'S' // followed by a big-endian uint64 N: the server sends N bytes and closes
	reqEcho = 'E' // the server echoes every byte until EOF
)

// clientResult is what `bench client` prints as one JSON line.
type clientResult struct {
	Mode      string  `json:"mode"`
	Bytes     int64   `json:"bytes,omitempty"`
	Seconds   float64 `json:"seconds"`              // bulk: transfer time; hold: time until every connection answered
	MedianUS  float64 `json:"median_us,omitempty"`  // latency: connect + one-byte round trip
	P90US     float64 `json:"p90_us,omitempty"`     // latency
	Conns     int     `json:"conns,omitempty"`      // latency and hold
	ResolveUS float64 `json:"resolve_us,omitempty"` // the one name lookup before the measurement
}

// clientMain is `bench client`: the measuring side of the network benchmarks,
// run directly or inside the sandbox.
func clientMain(args []string, out io.Writer) error {
	fl := flag.NewFlagSet("bench client", flag.ContinueOnError)
	addr := fl.String("addr", "", "server HOST:PORT (a name is resolved once)")
	mode := fl.String("mode", "bulk", "bulk, latency or hold")
	size := fl.Int64("bytes", 1<<30, "bulk: bytes to receive")
	n := fl.Int("n", 100, "latency: sequential connections; hold: concurrent connections")
	hold := fl.Duration("hold", time.Second, "hold: keep the connections open this long")
	if err := fl.Parse(args); err != nil {
		return err
	}
	start := time.Now()
	target, err := resolveOnce(*addr)
	if err != nil {
		return err
	}
	res := clientResult{Mode: *mode, ResolveUS: us(time.Since(start))}
	switch *mode {
	case "bulk":
		res.Bytes = *size
		err = bulk(target, *size, &res)
	case "latency":
		err = latency(target, *n, &res)
	case "hold":
		err = holdMany(target, *n, *hold, &res)
	default:
		return fmt.Errorf("unknown mode %q", *mode)
	}
	if err != nil {
		return err
	}
	return json.NewEncoder(out).Encode(res)
}

// resolveOnce turns HOST:PORT into IPv4:PORT with the system resolver.
func resolveOnce(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("-addr: %w", err)
	}
	ips, err := net.DefaultResolver.LookupIP(context.Background(), "ip4", host)
	if err != nil || len(ips) == 0 {
		return "", fmt.Errorf("resolving %s: %w", host, err)
	}
	return net.JoinHostPort(ips[0].String(), port), nil
}

func bulk(target string, size int64, res *clientResult) error {
	start := time.Now()
	c, err := net.Dial("tcp", target)
	if err != nil {
		return fmt.Errorf("bulk: %w", err)
	}
	defer c.Close()
	req := make([]byte, 9)
	req[0] = reqSend
	binary.BigEndian.PutUint64(req[1:], uint64(size))
	if _, err := c.Write(req); err != nil {
		return fmt.Errorf("bulk request: %w", err)
	}
	// The wrappers hide io.WriterTo and io.ReaderFrom, with which
	// io.CopyBuffer would not use the buffer (io.Discard reads 8 KiB at a
	// time): each read takes up to 256 KiB.
	got, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, struct{ io.Reader }{c}, make([]byte, 256<<10))
	if err != nil {
		return fmt.Errorf("bulk: after %d bytes: %w", got, err)
	}
	if got != size {
		return fmt.Errorf("bulk: received %d bytes, want %d", got, size)
	}
	res.Seconds = time.Since(start).Seconds()
	return nil
}

// echoOnce dials target and completes one one-byte round trip; the
// connection is returned open.
func echoOnce(target string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", target, 10*time.Second)
	if err != nil {
		return nil, err
	}
	if err := c.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		c.Close()
		return nil, err
	}
	b := []byte{reqEcho, 'x'}
	if _, err := c.Write(b); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := io.ReadFull(c, b[:1]); err != nil || b[0] != 'x' {
		c.Close()
		return nil, fmt.Errorf("echo: %q, %v", b[:1], err)
	}
	return c, nil
}

func latency(target string, n int, res *clientResult) error {
	ds := make([]time.Duration, 0, n)
	for i := range n {
		start := time.Now()
		c, err := echoOnce(target)
		if err != nil {
			return fmt.Errorf("latency: connection %d: %w", i, err)
		}
		ds = append(ds, time.Since(start))
		c.Close()
	}
	slices.Sort(ds)
	res.Conns = n
	res.MedianUS = us(ds[len(ds)/2])
	res.P90US = us(ds[len(ds)*9/10])
	return nil
}

// holdMany opens n connections at once (64 dials in flight), completes a
// round trip on each, keeps them all open for hold, then closes them.
func holdMany(target string, n int, hold time.Duration, res *clientResult) error {
	start := time.Now()
	conns := make([]net.Conn, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			conns[i], errs[i] = echoOnce(target)
		}()
	}
	wg.Wait()
	res.Seconds = time.Since(start).Seconds()
	res.Conns = n
	time.Sleep(hold)
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
	failed := 0
	var first error
	for _, err := range errs {
		if err != nil {
			failed++
			first = cmp.Or(first, err)
		}
	}
	if failed > 0 {
		return fmt.Errorf("hold: %d of %d connections failed, first: %w", failed, n, first)
	}
	return nil
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
