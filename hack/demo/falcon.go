package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// simulatorCloud is the name the manager's --cloud-endpoint gives the simulator.
const simulatorCloud = "sim"

// simulatorStartTimeout bounds the wait for the simulator to say where it listens.
const simulatorStartTimeout = 15 * time.Second

// realCloud is an API client of the real Falcon cloud, from the environment.
type realCloud struct {
	clientID, clientSecret string
	cloud                  string // "" keeps the samples' cloud
}

func realCloudFromEnv() (*realCloud, error) {
	id, secret := os.Getenv("FALCON_CLIENT_ID"), os.Getenv("FALCON_CLIENT_SECRET")
	switch {
	case id == "" && secret == "":
		return nil, nil
	case id == "" || secret == "":
		return nil, errors.New("set both FALCON_CLIENT_ID and FALCON_CLIENT_SECRET to use the real Falcon cloud, or neither to use the simulator")
	}
	return &realCloud{clientID: id, clientSecret: secret, cloud: os.Getenv("FALCON_CLOUD")}, nil
}

// target is where the manager reaches the Falcon API and with which credentials.
type target struct {
	real          bool
	cloud         string // what the samples' spec.falconAPI.cloud becomes; "" keeps theirs
	cloudEndpoint string // the manager's --cloud-endpoint value; "" for none
	clientID      string
	clientSecret  string
}

// falconTarget starts the simulator, or describes the real cloud when credentials are set.
func falconTarget(ctx context.Context, opts options, tmp string, cleanup *teardown) (target, error) {
	if real := opts.realCloud; real != nil {
		heading("using the real Falcon cloud (FALCON_CLIENT_ID and FALCON_CLIENT_SECRET are set)")
		detail("WARNING: real installation tokens will be created in the CID of API client %s,", real.clientID)
		detail("and revoked when the demo deletes its objects on exit (deletionPolicy Revoke).")
		if real.cloud != "" {
			detail("cloud %s (FALCON_CLOUD)", real.cloud)
		} else {
			detail("cloud as in the samples (set FALCON_CLOUD to override)")
		}
		return target{real: true, cloud: real.cloud, clientID: real.clientID, clientSecret: real.clientSecret}, nil
	}
	if os.Getenv("FALCON_CLOUD") != "" {
		detail("FALCON_CLOUD is ignored without FALCON_CLIENT_ID and FALCON_CLIENT_SECRET")
	}

	heading("starting the Falcon API simulator")
	clientID, clientSecret := randomHex(16), randomHex(20)
	logPath := filepath.Join(tmp, "falcon-simulator.log")
	sim, err := startChild("falcon-simulator", logPath, childEnv(), cleanup, opts.simulatorBinary,
		"--listen", "127.0.0.1:0", "--client-id", clientID, "--client-secret", clientSecret)
	if err != nil {
		return target{}, err
	}
	url, err := simulatorURL(ctx, sim)
	if err != nil {
		return target{}, err
	}
	detail("%s (pid %d), log %s", url, sim.pid(), logPath)
	return target{
		cloud:         simulatorCloud,
		cloudEndpoint: simulatorCloud + "=" + url,
		clientID:      clientID,
		clientSecret:  clientSecret,
	}, nil
}

// simulatorURL reads the URL from the simulator's first line, "falcon simulator listening on URL".
func simulatorURL(ctx context.Context, sim *child) (string, error) {
	const prefix = "falcon simulator listening on "
	select {
	case line, ok := <-sim.firstLine:
		if !ok {
			select {
			case <-sim.exited:
				return "", sim.exitError()
			case <-time.After(stopGrace):
				return "", errors.New("the simulator closed its stdout without saying where it listens")
			}
		}
		url, found := strings.CutPrefix(line, prefix)
		if !found {
			return "", fmt.Errorf("the simulator's first line is %q, want %q", line, prefix+"URL")
		}
		return url, nil
	case <-time.After(simulatorStartTimeout):
		return "", fmt.Errorf("the simulator did not say where it listens within %s; its log:\n%s", simulatorStartTimeout, logTail(sim.logPath))
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func randomHex(bytes int) string {
	b := make([]byte, bytes)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
