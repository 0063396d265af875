package fanout

import (
	"slices"
	"testing"
)

func TestSubscribeSendUnsubscribe(t *testing.T) {
	var s Subscribers[int]
	var a, b []int
	ua := s.Subscribe(func(v int) { a = append(a, v) })
	s.Subscribe(func(v int) { b = append(b, v) })
	s.Send(1)
	snap := s.Snapshot()
	ua()
	s.Send(2)
	snap.Send(3) // the snapshot still holds a
	if !slices.Equal(a, []int{1, 3}) || !slices.Equal(b, []int{1, 2, 3}) {
		t.Fatalf("a=%v b=%v, want [1 3] and [1 2 3]", a, b)
	}
	ua() // twice is harmless
}

func TestSubscribeFromASubscriber(t *testing.T) {
	var s Subscribers[int]
	n := 0
	s.Subscribe(func(int) { s.Subscribe(func(int) { n++ }) })
	s.Send(1) // adds one; must not deadlock
	s.Send(2) // reaches the added one
	if n != 1 {
		t.Fatalf("added subscriber got %d values, want 1", n)
	}
}
