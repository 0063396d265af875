package logbuf

import (
	"strings"
	"sync"
	"testing"
)

func TestConcurrentWritesAreAllKept(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() { b.Write([]byte("line\n")) })
	}
	wg.Wait()
	if n := strings.Count(b.String(), "line\n"); n != 100 {
		t.Fatalf("%d lines kept, want 100", n)
	}
}
