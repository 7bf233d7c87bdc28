package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"text/tabwriter"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// tableAccept asks the API server for the Table rendering kubectl prints; for a custom
// resource it holds the CRD's printer columns.
const tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io"

// kubectlGet prints what `kubectl get <resource> [-n namespace]` prints: the server's Table,
// columns of priority 0, headers upper-cased, tab-aligned as kubectl aligns them.
func kubectlGet(ctx context.Context, out io.Writer, config *rest.Config, mapping *meta.RESTMapping, namespace string) error {
	table, err := getTable(ctx, config, mapping, namespace)
	if err != nil {
		return err
	}
	if len(table.Rows) == 0 {
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			_, err = fmt.Fprintf(out, "No resources found in %s namespace.\n", namespace)
		} else {
			_, err = fmt.Fprintln(out, "No resources found")
		}
		return err
	}
	// kubectl's tabwriter settings (k8s.io/cli-runtime/pkg/printers).
	w := tabwriter.NewWriter(out, 6, 4, 3, ' ', 0)
	var visible []int
	var headers []string
	for i, column := range table.ColumnDefinitions {
		if column.Priority == 0 {
			visible = append(visible, i)
			headers = append(headers, strings.ToUpper(column.Name))
		}
	}
	if _, err := fmt.Fprintln(w, strings.Join(headers, "\t")); err != nil {
		return err
	}
	for _, row := range table.Rows {
		cells := make([]string, 0, len(visible))
		for _, i := range visible {
			cells = append(cells, cellText(row.Cells, i))
		}
		if _, err := fmt.Fprintln(w, strings.Join(cells, "\t")); err != nil {
			return err
		}
	}
	return w.Flush()
}

// cellText renders a cell as kubectl does: nothing for a missing value, a string up to its
// first line break, anything else in its JSON spelling.
func cellText(cells []any, i int) string {
	if i >= len(cells) || cells[i] == nil {
		return ""
	}
	if s, ok := cells[i].(string); ok {
		text, _, _ := strings.Cut(s, "\n")
		return text
	}
	return fmt.Sprint(cells[i])
}

func getTable(ctx context.Context, config *rest.Config, mapping *meta.RESTMapping, namespace string) (*metav1.Table, error) {
	httpClient, err := rest.HTTPClientFor(config)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(config.Host, "/")+resourcePath(mapping, namespace), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", tableAccept)
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }() // a body being read: nothing to lose on close
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("list %s as a table: %s: %s", mapping.Resource.Resource, resp.Status, body)
	}
	table := &metav1.Table{}
	decoder := json.NewDecoder(resp.Body)
	decoder.UseNumber() // integers print as the server sent them, not as floats
	if err := decoder.Decode(table); err != nil {
		return nil, fmt.Errorf("decode the %s table: %w", mapping.Resource.Resource, err)
	}
	return table, nil
}

// resourcePath is the REST path listing mapping's resource, in namespace when it is namespaced.
func resourcePath(mapping *meta.RESTMapping, namespace string) string {
	gv := mapping.GroupVersionKind.GroupVersion()
	parts := []string{"/apis", gv.Group, gv.Version}
	if gv.Group == "" {
		parts = []string{"/api", gv.Version}
	}
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		parts = append(parts, "namespaces", namespace)
	}
	return path.Join(append(parts, mapping.Resource.Resource)...)
}
