package report

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

// embeddedData returns the data a rendered page carries.
func embeddedData(t *testing.T, page string) Data {
	t.Helper()
	m := regexp.MustCompile(`(?s)<script type="application/json" id="report-data">(.*?)</script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the page has no #report-data script")
	}
	var d Data
	if err := json.Unmarshal([]byte(m[1]), &d); err != nil {
		t.Fatalf("embedded data: %v", err)
	}
	return d
}

func TestRenderIsSelfContained(t *testing.T) {
	d := fromJournal(t, "testdata/run.journal", Options{Title: "nightly <batch>"})
	var buf bytes.Buffer
	if err := Render(&buf, d); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, bad := range []string{"<script src", "stylesheet", "@import", "http://", "{{"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page contains %q: it must not fetch anything or leave a placeholder", bad)
		}
	}
	if !strings.Contains(page, "var uPlot=") || !strings.Contains(page, ".uplot") {
		t.Error("the page does not inline uPlot's script and styles")
	}
	if !strings.Contains(page, "<title>nightly &lt;batch&gt;</title>") {
		t.Error("the title is not escaped")
	}
	got := embeddedData(t, page)
	if got.Totals != d.Totals || len(got.Failures) != 1 || got.Cost.ActualUSD != d.Cost.ActualUSD {
		t.Errorf("embedded data differs: totals %+v, want %+v", got.Totals, d.Totals)
	}
}

func TestRenderEscapesMessages(t *testing.T) {
	b := NewBuilder(Options{})
	b.Result("x", time.Now(), Result{Error: &ResultError{Class: "fatal_item", Message: "</script><script>alert(1)</script>"}})
	var buf bytes.Buffer
	if err := Render(&buf, b.Data()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "alert(1)</script>") {
		t.Error("an error message ended the data's <script> element")
	}
	if d := embeddedData(t, buf.String()); d.Failures[0].Message != "</script><script>alert(1)</script>" {
		t.Errorf("message read back as %q", d.Failures[0].Message)
	}
}

func TestHandlerServesThePageAndFreshData(t *testing.T) {
	b := NewBuilder(Options{Title: "live"})
	srv := httptest.NewServer(Handler(b))
	defer srv.Close()
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		return string(body)
	}
	if d := embeddedData(t, get("/")); !d.Live || d.Totals.Items != 0 {
		t.Errorf("page data: live %v, items %d; want live, 0", d.Live, d.Totals.Items)
	}
	b.Result("a", time.Now(), Result{OK: true, Attempts: 1})
	var d Data
	if err := json.Unmarshal([]byte(get("/data.json")), &d); err != nil {
		t.Fatal(err)
	}
	if !d.Live || d.Totals.Items != 1 || d.Totals.OK != 1 {
		t.Errorf("data.json after one result: live %v, totals %+v", d.Live, d.Totals)
	}
	resp, err := http.Get(srv.URL + "/nothing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nothing: %s, want 404", resp.Status)
	}
}

// The page's script reads lists without checking for null: an empty
// builder's data must have empty lists, not nulls.
func TestEmptyDataHasEmptyLists(t *testing.T) {
	b, err := json.Marshal(NewBuilder(Options{}).Data())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"attempts":[]`, `"rpm_limit":[]`, `"projected_cost_usd":[]`, `"cooldowns":[]`, `"runs":[]`, `"failures":[]`, `"attempts_per_item":[]`, `"notes":[]`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("empty data lacks %s:\n%s", want, b)
		}
	}
}
