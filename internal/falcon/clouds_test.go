package falcon

import (
	"strings"
	"testing"
)

func TestEndpointsValidateExtras(t *testing.T) {
	e, err := NewEndpoints(map[string]string{"proxy": "https://falcon-proxy.internal:8443/api/", "us-1": "http://127.0.0.1:9/us-1"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if e["proxy"] != "https://falcon-proxy.internal:8443/api" || e["us-1"] != "http://127.0.0.1:9/us-1" || e["eu-1"] != PublicClouds()["eu-1"] {
		t.Fatalf("endpoints = %v", e)
	}
	if len(PublicClouds()) != 6 {
		t.Fatalf("%d public clouds", len(PublicClouds()))
	}

	bad := map[string]string{
		"Upper":        "https://x",
		"under_score":  "https://x",
		"autodiscover": "https://x",
		"ftp":          "ftp://x",
		"nohost":       "https:///path",
		"query":        "https://x/?a=b",
		"creds":        "https://user:hunter2pass@x",
		"garbage":      "https://hunter2pass:%zz@x",
	}
	for name, raw := range bad {
		_, err := NewEndpoints(map[string]string{name: raw}, true)
		if err == nil {
			t.Errorf("%s=%s was accepted", name, raw)
			continue
		}
		if strings.Contains(err.Error(), "hunter2pass") {
			t.Errorf("error %q repeats the URL's password", err)
		}
	}
}

func TestHTTPEndpointsNeedAnExplicitOptIn(t *testing.T) {
	for _, tc := range []struct {
		name          string
		url           string
		allowInsecure bool
		accepted      bool
	}{
		{"https", "https://falcon-proxy.internal:8443", false, true},
		{"http", "http://127.0.0.1:9", false, false},
		{"http, upper-case scheme", "HTTP://127.0.0.1:9", false, false},
		{"http allowed", "http://127.0.0.1:9", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewEndpoints(map[string]string{"proxy": tc.url}, tc.allowInsecure)
			if accepted := err == nil; accepted != tc.accepted {
				t.Fatalf("accepted = %t (%v), want %t", accepted, err, tc.accepted)
			}
			if err != nil && !strings.Contains(err.Error(), "--allow-insecure-endpoints") {
				t.Fatalf("error %q does not say how to allow it", err)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	e, _ := NewEndpoints(nil, false)
	for cloud, want := range map[string]string{CloudAutodiscover: PublicClouds()["us-1"], "": PublicClouds()["us-1"], "us-gov-2": PublicClouds()["us-gov-2"]} {
		if got, err := e.Resolve(cloud); err != nil || got != want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", cloud, got, err, want)
		}
	}
	if _, err := e.Resolve("mars-1"); err == nil || !strings.Contains(err.Error(), "eu-1") {
		t.Fatalf("unknown cloud: %v, want an error listing the known ones", err)
	}
	if _, err := New(Config{Credentials: Credentials{ClientID: "a", ClientSecret: "b"}, Cloud: "mars-1"}); err == nil {
		t.Fatal("New accepted an unknown cloud")
	}
}
