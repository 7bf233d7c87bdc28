package falcon

import "testing"

func TestLabelMarker(t *testing.T) {
	for _, tc := range []struct {
		label, marker string
		ok            bool
	}{
		{MarkLabel("team/sensors", "fto-0a1b2c3d4e"), "fto-0a1b2c3d4e", true},
		{"team/sensors [a] [fto-0a1b2c3d4e]", "fto-0a1b2c3d4e", true},
		{"team/sensors", "", false},
		{"team/sensors [fto-0a1b2c3d4e] renamed", "", false},
		{"team/sensors fto-0a1b2c3d4e]", "", false},
	} {
		marker, ok := LabelMarker(tc.label)
		if marker != tc.marker || ok != tc.ok {
			t.Errorf("LabelMarker(%q) = %q, %v; want %q, %v", tc.label, marker, ok, tc.marker, tc.ok)
		}
		if ok && !HasMarker(tc.label, marker) {
			t.Errorf("HasMarker(%q, %q) = false", tc.label, marker)
		}
	}
	if HasMarker(MarkLabel("x", "fto-0a1b2c3d4e"), "fto-0a1b2c3d4") {
		t.Error("HasMarker matched a marker's prefix")
	}
}
