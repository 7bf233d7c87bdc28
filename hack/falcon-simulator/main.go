// Command falcon-simulator serves the Falcon API simulator (internal/falcon/falcontest) on a
// local address, for the demo and for trying the operator without a Falcon account.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "Address to listen on; port 0 picks a free one.")
	clientID := flag.String("client-id", "", "API client ID to accept; generated when empty.")
	clientSecret := flag.String("client-secret", "", "API client secret to accept; generated (and printed) when empty.")
	cid := flag.String("cid", "", "Customer ID (32 hex) of the API client; generated when empty.")
	rateLimit := flag.Int("rate-limit", 6000, "Requests a minute per customer ID.")
	latency := flag.Duration("latency", 0, "Latency added to every reply.")
	flag.Parse()

	if err := run(*listen, falcontest.APIClient{ClientID: *clientID, ClientSecret: *clientSecret, CID: *cid}, *rateLimit, *latency); err != nil {
		fmt.Fprintln(os.Stderr, "falcon-simulator:", err)
		os.Exit(1)
	}
}

func run(listen string, client falcontest.APIClient, rateLimit int, latency time.Duration) error {
	sim := falcontest.New(falcontest.Options{RateLimit: rateLimit})
	sim.SetFaults(falcontest.Faults{Latency: latency})
	generatedSecret := client.ClientSecret == ""
	client = sim.AddClient(client)

	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	fmt.Printf("falcon simulator listening on http://%s\n", ln.Addr())
	fmt.Printf("client_id=%s cid=%s\n", client.ClientID, client.CID)
	if generatedSecret {
		// A generated secret is a fake that opens nothing but this simulator.
		fmt.Printf("client_secret=%s\n", client.ClientSecret)
	}

	server := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = server.Shutdown(shutdown)
	}()
	if err := server.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
