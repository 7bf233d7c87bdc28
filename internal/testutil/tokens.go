package testutil

import (
	"strings"

	"github.com/falconops/falcon-token-operator/internal/falcon"
	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
)

// LiveTokens are the valid tokens the simulator holds for cid, in creation order: those a
// sensor could install with right now.
func LiveTokens(sim *falcontest.Simulator, cid string) []falcontest.Token {
	var live []falcontest.Token
	for _, t := range sim.Tokens(cid) {
		if t.Status == falcon.TokenStatusValid {
			live = append(live, t)
		}
	}
	return live
}

// markerStart opens the marker the operator appends to a token's label: "<label> [fto-…]".
const markerStart = " [fto-"

// BaseLabel is a Falcon token's label without the operator's marker: the label a person reads
// in the console, by default <namespace>/<name> of the resource.
func BaseLabel(label string) string {
	if i := strings.LastIndex(label, markerStart); i >= 0 {
		return label[:i]
	}
	return label
}

// Marker is the marker at the end of a Falcon token's label ("fto-…"), "" when it has none: a
// token the operator did not create.
func Marker(label string) string {
	if i := strings.LastIndex(label, markerStart); i >= 0 && strings.HasSuffix(label, "]") {
		return label[i+2 : len(label)-1]
	}
	return ""
}
