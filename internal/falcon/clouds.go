package falcon

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// CloudAutodiscover is the cloud name that asks the client to find the API client's cloud itself:
// the token request goes to us-1, which redirects clients of another commercial cloud.
const CloudAutodiscover = "autodiscover"

// defaultCloud is where autodiscovery starts.
const defaultCloud = "us-1"

var publicClouds = map[string]string{
	"us-1":     "https://api.crowdstrike.com",
	"us-2":     "https://api.us-2.crowdstrike.com",
	"us-3":     "https://api.us-3.crowdstrike.com",
	"eu-1":     "https://api.eu-1.crowdstrike.com",
	"us-gov-1": "https://api.laggar.gcw.crowdstrike.com",
	"us-gov-2": "https://api.us-gov-2.crowdstrike.mil",
}

// govCloudHint is added to errors of autodiscovering clients: GovCloud never takes part in
// autodiscovery, so a GovCloud API client that autodiscovers is simply refused at us-1.
const govCloudHint = "GovCloud clients must name their cloud (us-gov-1 or us-gov-2)"

func isGovCloud(name string) bool { return name == "us-gov-1" || name == "us-gov-2" }

// PublicClouds returns the six named Falcon clouds and their API base URLs.
func PublicClouds() map[string]string { return maps.Clone(publicClouds) }

// Endpoints maps cloud names to API base URLs: the public clouds plus the extras an
// administrator registered (--cloud-endpoint). Credentials are only ever sent to these URLs.
type Endpoints map[string]string

var cloudNamePattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// NewEndpoints returns the public clouds plus extra (name -> base URL). An extra may reuse a
// public cloud's name to reach that cloud through a proxy. Names must be lower-case DNS labels;
// URLs must be https without credentials, query or fragment, and may carry a path. http URLs,
// which would send the client secret in clear text, are accepted only with allowInsecure (for
// the simulator and local proxies).
func NewEndpoints(extra map[string]string, allowInsecure bool) (Endpoints, error) {
	endpoints := Endpoints(PublicClouds())
	for _, name := range slices.Sorted(maps.Keys(extra)) {
		base, err := validateEndpoint(name, extra[name], allowInsecure)
		if err != nil {
			return nil, err
		}
		endpoints[name] = base
	}
	return endpoints, nil
}

func validateEndpoint(name, raw string, allowInsecure bool) (string, error) {
	if !cloudNamePattern.MatchString(name) || name == CloudAutodiscover {
		return "", fmt.Errorf("falcon: cloud endpoint name %q must be a lower-case DNS label other than %q", name, CloudAutodiscover)
	}
	// The parse error and the URL itself are left out of messages: a mistyped URL may hold a password.
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", fmt.Errorf("falcon: cloud endpoint %s: the URL does not parse", name)
	case u.Scheme != "https" && u.Scheme != "http":
		return "", fmt.Errorf("falcon: cloud endpoint %s: the URL must start with https://", name)
	case u.Scheme == "http" && !allowInsecure:
		return "", fmt.Errorf("falcon: cloud endpoint %s: an http:// URL sends the credentials unencrypted; use https://, "+
			"or --allow-insecure-endpoints for the simulator or a local proxy", name)
	case u.Host == "":
		return "", fmt.Errorf("falcon: cloud endpoint %s: the URL has no host", name)
	case u.User != nil:
		return "", fmt.Errorf("falcon: cloud endpoint %s: the URL must not carry credentials", name)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("falcon: cloud endpoint %s: the URL must not have a query or fragment", name)
	}
	return strings.TrimRight(raw, "/"), nil
}

// Resolve returns the base URL for cloud; "autodiscover" (and "") resolve to us-1, where
// autodiscovery starts.
func (e Endpoints) Resolve(cloud string) (string, error) {
	if cloud == "" || cloud == CloudAutodiscover {
		cloud = defaultCloud
	}
	if base, ok := e[cloud]; ok {
		return base, nil
	}
	return "", fmt.Errorf("falcon: unknown cloud %q (known: %s, %s)", cloud, strings.Join(slices.Sorted(maps.Keys(e)), ", "), CloudAutodiscover)
}

// locate reports which endpoint serves u (the longest base URL that contains it) and the API
// path below that base.
func (e Endpoints) locate(u *url.URL) (cloud, apiPath string, ok bool) {
	bestPrefix := -1
	for _, name := range slices.Sorted(maps.Keys(e)) {
		base, err := url.Parse(e[name])
		if err != nil || !strings.EqualFold(base.Scheme, u.Scheme) || !strings.EqualFold(base.Host, u.Host) {
			continue
		}
		rest, found := strings.CutPrefix(u.Path, base.Path)
		if !found || (rest != "" && !strings.HasPrefix(rest, "/")) || len(base.Path) <= bestPrefix {
			continue
		}
		cloud, apiPath, ok, bestPrefix = name, rest, true, len(base.Path)
	}
	return cloud, apiPath, ok
}
