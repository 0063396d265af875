package llmsim

import (
	"slices"
	"testing"
	"time"
)

func TestCursorPage(t *testing.T) {
	t0 := time.Unix(1000, 0)
	items := []string{"a", "b", "c", "d", "e"}
	created := map[string]time.Time{"a": t0, "b": t0.Add(time.Second), "c": t0.Add(time.Second), "d": t0.Add(3 * time.Second), "e": t0.Add(4 * time.Second)}
	newestFirst(items, func(s string) (time.Time, string) { return created[s], s })
	if want := []string{"e", "d", "c", "b", "a"}; !slices.Equal(items, want) {
		t.Fatalf("order %v, want %v", items, want)
	}
	id := func(s string) string { return s }
	for _, c := range []struct {
		after, before, limit string
		want                 []string
		more                 bool
	}{
		{"", "", "", []string{"e", "d", "c", "b", "a"}, false},
		{"", "", "2", []string{"e", "d"}, true},
		{"d", "", "2", []string{"c", "b"}, true},
		{"", "b", "", []string{"e", "d", "c"}, false},
		{"e", "a", "9", []string{"d", "c", "b"}, false},
		{"unknown", "", "x", []string{"e", "d", "c", "b", "a"}, false},
		{"", "", "100", []string{"e", "d", "c"}, true}, // capped at maxLimit 3
	} {
		got, more := cursorPage(items, id, c.after, c.before, c.limit, 3)
		if !slices.Equal(got, c.want) || more != c.more {
			t.Errorf("after %q before %q limit %q: %v more %v, want %v more %v", c.after, c.before, c.limit, got, more, c.want, c.more)
		}
	}
	l := cursorList([]string(nil), false, id)
	if l["first_id"] != nil || l["last_id"] != nil || len(l["data"].([]string)) != 0 {
		t.Errorf("empty list %v", l)
	}
}

func TestOffsetPage(t *testing.T) {
	for _, c := range []struct {
		n           int
		size, token string
		start, end  int
		next        string
		bad         bool
	}{
		{5, "", "", 0, 5, "", false},
		{5, "2", "", 0, 2, "2", false},
		{5, "2", "4", 4, 5, "", false},
		{5, "0", "", 0, 5, "", false}, // 0: the default
		{5, "", "9", 5, 5, "", false},
		{2000, "5000", "", 0, 1000, "1000", false}, // coerced to 1000
		{5, "-1", "", 0, 0, "", true},
		{5, "", "x", 0, 0, "", true},
	} {
		start, end, next, err := offsetPage(c.n, c.size, c.token, 10)
		if (err != nil) != c.bad || (!c.bad && (start != c.start || end != c.end || next != c.next)) {
			t.Errorf("%+v: %d %d %q %v", c, start, end, next, err)
		}
	}
}
