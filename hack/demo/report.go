package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// recentEvents is how many events the report shows.
const recentEvents = 20

// report prints the samples as `kubectl get` does, the keys of the Secrets the operator wrote,
// recent events, and how to keep exploring.
func report(ctx context.Context, c client.Client, plane *controlPlane, samples []*unstructured.Unstructured, manager *child) error {
	if err := printTables(ctx, c, plane, samples); err != nil {
		return err
	}
	if err := printSecretKeys(ctx, c, samples); err != nil {
		return err
	}
	if err := printEvents(ctx, c, samples); err != nil {
		return err
	}
	printExploring(plane, samples, manager)
	return nil
}

// printTables prints each kind of sample, per namespace, as `kubectl get` would.
func printTables(ctx context.Context, c client.Client, plane *controlPlane, samples []*unstructured.Unstructured) error {
	type listing struct {
		gvk       schema.GroupVersionKind
		namespace string
	}
	var listings []listing
	for _, sample := range samples {
		l := listing{sample.GroupVersionKind(), sample.GetNamespace()}
		if !slices.Contains(listings, l) {
			listings = append(listings, l)
		}
	}
	for _, l := range listings {
		mapping, err := c.RESTMapper().RESTMapping(l.gvk.GroupKind(), l.gvk.Version)
		if err != nil {
			return err
		}
		command := "kubectl get " + mapping.Resource.Resource
		if l.namespace != "" {
			command += " -n " + l.namespace
		}
		fmt.Println()
		fmt.Println("$ " + command)
		if err := kubectlGet(ctx, os.Stdout, plane.config, mapping, l.namespace); err != nil {
			return err
		}
	}
	return nil
}

// printSecretKeys prints the keys of the Secret of each FalconInstallationToken, and of every
// copy of each ClusterFalconInstallationToken's Secret; values are masked.
func printSecretKeys(ctx context.Context, c client.Client, samples []*unstructured.Unstructured) error {
	for _, sample := range samples {
		var err error
		switch sample.GetKind() {
		case kindInstallationToken:
			err = printTokenSecret(ctx, c, sample)
		case kindClusterInstallationToken:
			err = printClusterTokenSecrets(ctx, c, sample)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// printTokenSecret prints the keys of a FalconInstallationToken's Secret.
func printTokenSecret(ctx context.Context, c client.Client, sample *unstructured.Unstructured) error {
	current, err := currentToken(ctx, c, sample)
	if err != nil {
		return err
	}
	secret := &corev1.Secret{}
	key := types.NamespacedName{Namespace: sample.GetNamespace(), Name: current.secretName}
	if err := c.Get(ctx, key, secret); err != nil {
		return fmt.Errorf("read the Secret of %s: %w", describe(sample), err)
	}
	fmt.Println()
	heading("Secret %s written by the operator (values masked)", key)
	for _, masked := range maskedKeys(secret) {
		detail("%s", masked)
	}
	return nil
}

// printClusterTokenSecrets prints a line per namespace the token reports published, with the
// keys of the copy there, and whether the copies hold the same data.
func printClusterTokenSecrets(ctx context.Context, c client.Client, sample *unstructured.Unstructured) error {
	current, err := currentToken(ctx, c, sample)
	if err != nil {
		return err
	}
	published := publishedNamespaces(current.obj)
	fmt.Println()
	heading("Secret %s of %s in %d namespaces (values masked)", current.secretName, describe(sample), len(published))
	w := tabwriter.NewWriter(os.Stdout, 6, 4, 3, ' ', 0)
	var first *corev1.Secret
	var differ []string
	for _, ns := range published {
		secret := &corev1.Secret{}
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: current.secretName}, secret); err != nil {
			return fmt.Errorf("read the Secret of %s in %s: %w", describe(sample), ns, err)
		}
		if _, err := fmt.Fprintf(w, "    %s\t%s\n", ns, strings.Join(maskedKeys(secret), "  ")); err != nil {
			return err
		}
		if first == nil {
			first = secret
		} else if !maps.EqualFunc(first.Data, secret.Data, bytes.Equal) {
			differ = append(differ, ns)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	refused, _, _ := unstructured.NestedSlice(current.obj.Object, "status", "refusedNamespaces")
	for _, item := range refused {
		fields, _ := item.(map[string]any)
		detail("not in %v: %v", fields["namespace"], fields["reason"])
	}
	switch {
	case len(published) > 1 && len(differ) == 0:
		detail("the %d copies hold the same data", len(published))
	case len(differ) > 0:
		detail("WARNING: the copies in %s hold other data than the one in %s", strings.Join(differ, ", "), published[0])
	}
	return nil
}

// maskedKeys shows a Secret's keys, sorted, each with its value's length only.
func maskedKeys(secret *corev1.Secret) []string {
	keys := slices.Sorted(maps.Keys(secret.Data))
	for i, key := range keys {
		keys[i] = fmt.Sprintf("%s=******** (%d bytes)", key, len(secret.Data[key]))
	}
	return keys
}

// token is a token sample as the API server has it, with the Secret it reports in
// status.secretName.
type token struct {
	obj        *unstructured.Unstructured
	secretName string
}

func currentToken(ctx context.Context, c client.Client, sample *unstructured.Unstructured) (token, error) {
	current := &unstructured.Unstructured{}
	current.SetGroupVersionKind(sample.GroupVersionKind())
	if err := c.Get(ctx, client.ObjectKeyFromObject(sample), current); err != nil {
		return token{}, err
	}
	name, _, _ := unstructured.NestedString(current.Object, "status", "secretName")
	if name == "" {
		return token{}, fmt.Errorf("%s is Ready but has no status.secretName", describe(sample))
	}
	return token{obj: current, secretName: name}, nil
}

// printEvents prints the latest events of the samples' namespaces and of default, where the
// events of cluster-scoped objects go.
func printEvents(ctx context.Context, c client.Client, samples []*unstructured.Unstructured) error {
	namespaces := []string{}
	for _, sample := range samples {
		if ns := sample.GetNamespace(); ns != "" && !slices.Contains(namespaces, ns) {
			namespaces = append(namespaces, ns)
		}
	}
	if !slices.Contains(namespaces, "default") {
		namespaces = append(namespaces, "default")
	}
	var events []eventsv1.Event
	for _, ns := range namespaces {
		list := &eventsv1.EventList{}
		if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
			return fmt.Errorf("list events in %s: %w", ns, err)
		}
		events = append(events, list.Items...)
	}
	sort.SliceStable(events, func(i, j int) bool { return eventTime(events[i]).Before(eventTime(events[j])) })
	if len(events) > recentEvents {
		events = events[len(events)-recentEvents:]
	}

	fmt.Println()
	heading("recent events in %s", strings.Join(namespaces, ", "))
	if len(events) == 0 {
		detail("none")
		return nil
	}
	w := tabwriter.NewWriter(os.Stdout, 6, 4, 3, ' ', 0)
	if _, err := fmt.Fprintln(w, "NAMESPACE\tLAST SEEN\tTYPE\tREASON\tOBJECT\tNOTE"); err != nil {
		return err
	}
	for _, e := range events {
		object := strings.ToLower(e.Regarding.Kind) + "/" + e.Regarding.Name
		note, _, _ := strings.Cut(e.Note, "\n")
		age := duration.HumanDuration(time.Since(eventTime(e)))
		if _, err := fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Namespace, age, e.Type, e.Reason, object, note); err != nil {
			return err
		}
	}
	return w.Flush()
}

// eventTime is when an event last happened.
func eventTime(e eventsv1.Event) time.Time {
	switch {
	case e.Series != nil:
		return e.Series.LastObservedTime.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.DeprecatedLastTimestamp.IsZero():
		return e.DeprecatedLastTimestamp.Time
	}
	return e.CreationTimestamp.Time
}

func printExploring(plane *controlPlane, samples []*unstructured.Unstructured, manager *child) {
	fmt.Println()
	heading("keep exploring")
	detail("export KUBECONFIG=%s", plane.kubeconfig)
	detail("kubectl get fit,cfit,fts -A -o wide")
	described := map[string]bool{}
	for _, sample := range samples {
		if described[sample.GetKind()] {
			continue
		}
		switch sample.GetKind() {
		case kindInstallationToken:
			detail("kubectl describe fit -n %s %s", sample.GetNamespace(), sample.GetName())
		case kindClusterInstallationToken:
			detail("kubectl describe cfit %s", sample.GetName())
		default:
			continue
		}
		described[sample.GetKind()] = true
	}
	detail("tail -f %s", manager.logPath)
	if _, err := exec.LookPath("kubectl"); err != nil {
		detail("(kubectl is not in PATH; any recent kubectl works with this kubeconfig)")
	}
}
