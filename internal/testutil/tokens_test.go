package testutil

import "testing"

func TestLabels(t *testing.T) {
	cases := []struct{ label, base, marker string }{
		{"ns/name [fto-0123456789]", "ns/name", "fto-0123456789"},
		{"a [b] [fto-abcdef0123]", "a [b]", "fto-abcdef0123"},
		{"made in the console", "made in the console", ""},
	}
	for _, c := range cases {
		if got := BaseLabel(c.label); got != c.base {
			t.Errorf("BaseLabel(%q) = %q, want %q", c.label, got, c.base)
		}
		if got := Marker(c.label); got != c.marker {
			t.Errorf("Marker(%q) = %q, want %q", c.label, got, c.marker)
		}
	}
}
