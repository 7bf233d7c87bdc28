package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// revokeTimeout bounds the wait for the manager to revoke the real tokens and release the token
// samples' finalizers.
const revokeTimeout = 60 * time.Second

// revokeTokens deletes the token samples (FalconInstallationToken and
// ClusterFalconInstallationToken) and waits until the manager has revoked their tokens in Falcon
// and released them (deletionPolicy Revoke), so a demo against the real cloud leaves no valid
// token behind.
func revokeTokens(ctx context.Context, c client.Client, samples []*unstructured.Unstructured, manager *child) error {
	var tokens []*unstructured.Unstructured
	for _, sample := range samples {
		if !isToken(sample.GetKind()) {
			continue
		}
		if err := c.Delete(ctx, sample.DeepCopy()); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete %s: %w", describe(sample), err)
		}
		tokens = append(tokens, sample)
	}

	ctx, cancel := context.WithTimeout(ctx, revokeTimeout)
	defer cancel()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var remaining []string
	for {
		current, err := remainingTokens(ctx, c, tokens)
		if err == nil && len(current) == 0 {
			return nil
		}
		if err == nil {
			remaining = current
		}
		var why string
		select {
		case <-tick.C:
			continue
		case <-manager.exited:
			why = "the manager exited before releasing them"
		case <-ctx.Done():
			why = fmt.Sprintf("not released within %s", revokeTimeout)
		}
		return fmt.Errorf("%s; revoke their tokens in the Falcon console: %s", why, strings.Join(remaining, ", "))
	}
}

// remainingTokens describes the token objects that still exist, with their Falcon token IDs.
func remainingTokens(ctx context.Context, c client.Client, tokens []*unstructured.Unstructured) ([]string, error) {
	var remaining []string
	for _, token := range tokens {
		current := &unstructured.Unstructured{}
		current.SetGroupVersionKind(token.GroupVersionKind())
		err := c.Get(ctx, client.ObjectKeyFromObject(token), current)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		id, _, _ := unstructured.NestedString(current.Object, "status", "tokenID")
		remaining = append(remaining, fmt.Sprintf("%s (token ID %s)", describe(token), id))
	}
	return remaining, nil
}
