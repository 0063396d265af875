package jsonenc

import (
	"encoding/json"
	"testing"
)

func TestMarshalKeepsHTMLCharacters(t *testing.T) {
	v := map[string]any{"b": json.RawMessage(`{"q":"a<b && c>d"}`), "a": "x<y"}
	got, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":"x<y","b":{"q":"a<b && c>d"}}`; string(got) != want {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
}
