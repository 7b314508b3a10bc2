package readbuf

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// pattern returns n bytes that differ with seed, so that bytes left over
// from an earlier message in a reused buffer are noticed.
func pattern(n int, seed byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7) ^ seed
	}
	return p
}

// chunkReader returns at most n bytes per Read, and io.EOF only on the
// Read after the last byte.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

// same reports whether a and b start at the same byte of memory.
func same(a, b []byte) bool {
	return cap(a) > 0 && cap(b) > 0 && &a[:1][0] == &b[:1][0]
}

// tries bounds the retries of a test of pool reuse: under the race
// detector a Put is dropped one time in four.
const tries = 100

func TestReadAll(t *testing.T) {
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
		max  int // largest size worth reading this way
	}{
		{"whole", func(r io.Reader) io.Reader { return r }, 1 << 30},
		{"one byte", iotest.OneByteReader, Keep + 1},
		{"half", iotest.HalfReader, 1 << 30},
		{"eof with data", iotest.DataErrReader, 1 << 30},
		{"chunks of 1000", func(r io.Reader) io.Reader { return &chunkReader{r, 1000} }, 1 << 30},
	}
	sizes := []int{0, 1, 511, 512, 513, 4096, Keep - 1, Keep, Keep + 1, 100_000, 128 << 10, 1<<20 + 3}
	for _, rd := range readers {
		for _, size := range sizes {
			if size > rd.max {
				continue
			}
			want := pattern(size, byte(size))
			var b Buffer
			got, err := b.ReadAll(rd.wrap(bytes.NewReader(want)))
			if err != nil {
				t.Fatalf("%s, %d bytes: %v", rd.name, size, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s, %d bytes: wrong bytes (got %d)", rd.name, size, len(got))
			}
			b.Release()
			if b.big != nil || cap(b.small) > Keep {
				t.Fatalf("%s, %d bytes: after Release big cap %d, small cap %d", rd.name, size, cap(b.big), cap(b.small))
			}
		}
	}
}

// TestExactFitDoesNotGrow checks that a message filling the buffer exactly
// is read without growing it.
func TestExactFitDoesNotGrow(t *testing.T) {
	for _, size := range []int{512, 1024, Keep} {
		var b Buffer
		b.small = make([]byte, 0, size)
		first := b.small
		got, err := b.ReadAll(bytes.NewReader(pattern(size, 1)))
		if err != nil || len(got) != size {
			t.Fatalf("%d bytes: got %d, %v", size, len(got), err)
		}
		if !same(got, first) || b.big != nil {
			t.Fatalf("%d bytes: the buffer was replaced", size)
		}
	}
}

// TestAlternatingSizes reads messages of changing sizes through one
// Buffer, as a connection does, checking each message's bytes and what
// the Buffer holds between messages.
func TestAlternatingSizes(t *testing.T) {
	sizes := []int{10, 200_000, 10, 100_000, 100_000, Keep, 3 << 20, 5, 1 << 20, Keep + 1, 0, 70_000}
	var b Buffer
	for i, size := range sizes {
		want := pattern(size, byte(i))
		got, err := b.ReadAll(&chunkReader{bytes.NewReader(want), 16 << 10})
		if err != nil {
			t.Fatalf("message %d (%d bytes): %v", i, size, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("message %d (%d bytes): wrong bytes (got %d)", i, size, len(got))
		}
		if borrowed := b.big != nil; borrowed != (cap(got) > Keep) {
			t.Fatalf("message %d (%d bytes): borrowed %v with a buffer of %d", i, size, borrowed, cap(got))
		}
		b.Release()
		if b.big != nil || cap(b.small) > Keep {
			t.Fatalf("message %d: after Release big cap %d, small cap %d", i, cap(b.big), cap(b.small))
		}
		if wantLast := size * bool2int(size > Keep); b.last != wantLast {
			t.Fatalf("message %d: last %d, want %d", i, b.last, wantLast)
		}
	}
}

func bool2int(v bool) int {
	if v {
		return 1
	}
	return 0
}

// TestReleaseReturnsBigBuffer checks that the buffer a big message was read
// into goes back to the pool at Release, and that the next big message of
// the connection is read into it.
func TestReleaseReturnsBigBuffer(t *testing.T) {
	cases := []struct {
		name string
		size int
	}{
		{"just over Keep", Keep + 1},
		{"100 KB", 100_000},
		{"exactly a class", 256 << 10},
		{"1 MiB and a bit", 1<<20 + 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := pattern(c.size, 9)
			ok := false
			for range tries {
				var b Buffer
				first, err := b.ReadAll(bytes.NewReader(want))
				if err != nil || !bytes.Equal(first, want) {
					t.Fatalf("first read: %d bytes, %v", len(first), err)
				}
				b.Release()
				second, err := b.ReadAll(bytes.NewReader(want))
				if err != nil || !bytes.Equal(second, want) {
					t.Fatalf("second read: %d bytes, %v", len(second), err)
				}
				reused := same(first, second)
				b.Release()
				if reused {
					ok = true
					break
				}
				if !raceEnabled {
					t.Fatal("the second big message was not read into the first one's buffer")
				}
			}
			if !ok {
				t.Fatalf("no reuse in %d tries", tries)
			}
		})
	}
}

// TestPoolClasses checks Get, Pooled and Put against the size classes.
func TestPoolClasses(t *testing.T) {
	cases := []struct {
		name     string
		put      int // capacity of the buffer put
		get      int // size asked of Pooled
		returned bool
	}{
		{"same class", 128 << 10, 100_000, true},
		{"exact class", 128 << 10, 128 << 10, true},
		{"larger class wanted", 128 << 10, 128<<10 + 1, false},
		{"odd capacity filed below", 3000, 2048, true},
		{"odd capacity not above", 3000, 3000, false},
		{"too small to pool", 100, 1, false},
		{"too large to pool", 1<<maxShift + 1, 1 << maxShift, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			drain(c.get)
			found := false
			for range tries {
				b := make([]byte, 0, c.put)
				Put(b)
				got := Pooled(c.get)
				if got != nil && cap(got) < c.get {
					t.Fatalf("Pooled(%d) returned a buffer of %d", c.get, cap(got))
				}
				if same(got, b) {
					found = true
					break
				}
				if !raceEnabled {
					break
				}
			}
			if found != c.returned {
				t.Fatalf("buffer of %d returned by Pooled(%d): %v, want %v", c.put, c.get, found, c.returned)
			}
		})
	}
	for _, n := range []int{0, 1, 512, 513, 100_000, 1 << maxShift, 1<<maxShift + 1} {
		drain(n)
		b := Get(n)
		if len(b) != 0 || cap(b) < n {
			t.Fatalf("Get(%d): len %d cap %d", n, len(b), cap(b))
		}
		if n <= 1<<maxShift && cap(b) != 1<<(minShift+class(n)) {
			t.Fatalf("Get(%d): cap %d, not its class size", n, cap(b))
		}
	}
}

// drain empties the pool of n's class.
func drain(n int) {
	if n <= 1<<maxShift {
		for Pooled(n) != nil {
		}
	}
}

// TestSteadyStreamDoesNotAllocate checks that once warm, reading a stream
// of big messages allocates nothing.
func TestSteadyStreamDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's pool drops buffers at random")
	}
	msg := pattern(100_000, 3)
	rd := bytes.NewReader(msg)
	var b Buffer
	read := func() {
		rd.Reset(msg)
		got, err := b.ReadAll(rd)
		if err != nil || len(got) != len(msg) {
			t.Fatalf("read %d bytes, %v", len(got), err)
		}
		b.Release()
	}
	read()
	if allocs := testing.AllocsPerRun(100, read); allocs != 0 {
		t.Fatalf("%v allocations per message", allocs)
	}
}

// TestReadError checks that a failed read returns the error and gives the
// borrowed buffer back.
func TestReadError(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		name string
		last int // b.last before the read: a big message came before
		size int // bytes read before the error
	}{
		{"small", 0, 100},
		{"grown big", 0, 200_000},
		{"borrowed up front", 200_000, 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := Buffer{last: c.last}
			r := io.MultiReader(bytes.NewReader(pattern(c.size, 0)), iotest.ErrReader(boom))
			got, err := b.ReadAll(r)
			if !errors.Is(err, boom) || got != nil {
				t.Fatalf("got %d bytes, %v; want nil, boom", len(got), err)
			}
			if b.big != nil {
				t.Fatal("borrowed buffer kept after an error")
			}
		})
	}
}
