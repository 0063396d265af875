package batchapi

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"
	"testing/synctest"
)

// roundTrip is an http.RoundTripper from a function.
type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A Gemini responses file is read by streaming: the first answer is
// handed on before the rest of the file has been sent (a download read
// whole would wait for the end, which here never comes before the first
// answer is seen: a deadlock).
func TestGeminiResponsesFileStreams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pr, pw := io.Pipe()
		var asked string
		base, _ := url.Parse("http://gemini.invalid/v1beta")
		b := &geminiBackend{http: geminiHTTP{base: base, key: "gm-key", client: &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
			asked = r.URL.String() + " key=" + r.Header.Get("x-goog-api-key")
			return &http.Response{StatusCode: http.StatusOK, Body: pr, Header: http.Header{}, Request: r}, nil
		})}}}
		first := make(chan struct{})
		go func() {
			_, _ = io.WriteString(pw, `{"key":"a","response":{"candidates":[]}}`+"\n")
			<-first
			_, _ = io.WriteString(pw, `{"key":"b","error":{"code":8,"message":"quota"}}`+"\n")
			pw.Close()
		}()
		var got []answer
		err := b.readFile(context.Background(), "files/batch-out", func(a answer) error {
			if len(got) == 0 {
				close(first)
			}
			got = append(got, a)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if asked != "http://gemini.invalid/v1beta/files/batch-out:download?alt=media key=gm-key" {
			t.Errorf("request %s, want the SDK's download URL with the client's key", asked)
		}
		if len(got) != 2 || got[0].custom != "a" || got[0].status != 200 || got[1].custom != "b" || got[1].status != http.StatusTooManyRequests {
			t.Errorf("answers %+v, want a (200) then b (429, from RESOURCE_EXHAUSTED)", got)
		}
	})
}
