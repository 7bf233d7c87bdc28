package testutil

import (
	"encoding/base64"
	"reflect"
	"testing"
)

func TestLeaks(t *testing.T) {
	secrets := []string{"0a1b2c3d", "f00dfeedf00dfeedf00dfeedf00dfeedf00dfeed"}
	b64 := base64.StdEncoding.EncodeToString([]byte(secrets[0]))
	cases := []struct {
		name, text string
		want       []string
	}{
		{"quoted in JSON", `{"value":"0a1b2c3d"}`, []string{"log hold secret #0 (8 characters)"}},
		{"after a colon and before a full stop", "the token: 0a1b2c3d.", []string{"log hold secret #0 (8 characters)"}},
		{"base64 in a Secret's data", `{"data":{"TOKEN":"` + b64 + `"}}`, []string{"log hold secret #0 (8 characters, base64)"}},
		{"the long one after =", "client_secret=f00dfeedf00dfeedf00dfeedf00dfeedf00dfeed&x=1", []string{"log hold secret #1 (40 characters)"}},
		{"inside a UUID", "uid 0a1b2c3d-1111-2222-3333-444455556666", nil},
		{"inside a longer hex run", "trace 990a1b2c3d99", nil},
		{"inside a dotted name", "x.0a1b2c3d.y", nil},
		{"nothing", "all quiet", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Leaks(map[string]string{"log": c.text}, secrets); !reflect.DeepEqual(got, c.want) {
				t.Errorf("Leaks(%q) = %q, want %q", c.text, got, c.want)
			}
		})
	}
}

func TestLeaksReportsEachPlaceOnce(t *testing.T) {
	got := Leaks(map[string]string{"b": "s3cr3t s3cr3t", "a": "s3cr3t"}, []string{"s3cr3t"})
	want := []string{"a hold secret #0 (6 characters)", "b hold secret #0 (6 characters)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
