package falcontest

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// swagger is the public swagger subset (testdata), for checking replies against it.
type swagger struct {
	Definitions map[string]*schema `json:"definitions"`
	Paths       map[string]map[string]struct {
		Responses map[string]struct{ Schema *schema }
	} `json:"paths"`
}

type schema struct {
	Ref        string             `json:"$ref"`
	Type       string             `json:"type"`
	Format     string             `json:"format"`
	Properties map[string]*schema `json:"properties"`
	Required   []string           `json:"required"`
	Items      *schema            `json:"items"`
}

func loadSwagger(t *testing.T) *swagger {
	t.Helper()
	raw, err := os.ReadFile("testdata/swagger-subset.json")
	if err != nil {
		t.Fatal(err)
	}
	s := &swagger{}
	if err := json.Unmarshal(raw, s); err != nil {
		t.Fatal(err)
	}
	return s
}

// responseSchema is the schema of method path's reply with status; statuses the swagger does
// not list (401, 308, 409, 404 on reads) have the meta-only envelope every error reply has.
func (s *swagger) responseSchema(method, path string, status int) *schema {
	if r, ok := s.Paths[path][strings.ToLower(method)].Responses[fmt.Sprint(status)]; ok && r.Schema != nil {
		return r.Schema
	}
	return &schema{Ref: "#/definitions/msa.ReplyMetaOnly"}
}

func (s *swagger) resolve(sc *schema) *schema {
	for sc.Ref != "" {
		sc = s.Definitions[strings.TrimPrefix(sc.Ref, "#/definitions/")]
	}
	return sc
}

// validate checks v against sc and returns every mismatch, by JSON path. A null is accepted for
// date-time strings: the API sends null for unset timestamps while listing them as required.
func (s *swagger) validate(path string, sc *schema, v any) []string {
	sc = s.resolve(sc)
	if v == nil {
		if sc.Type == "string" && sc.Format == "date-time" {
			return nil
		}
		return []string{path + ": null"}
	}
	var errs []string
	switch sc.Type {
	case "object", "":
		obj, ok := v.(map[string]any)
		if !ok {
			if sc.Type == "" {
				return nil
			}
			return []string{fmt.Sprintf("%s: want object, got %T", path, v)}
		}
		for _, req := range sc.Required {
			if _, ok := obj[req]; !ok {
				errs = append(errs, path+"."+req+": required")
			}
		}
		for name, prop := range sc.Properties {
			if val, ok := obj[name]; ok {
				errs = append(errs, s.validate(path+"."+name, prop, val)...)
			}
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want array, got %T", path, v)}
		}
		for i, item := range arr {
			errs = append(errs, s.validate(fmt.Sprintf("%s[%d]", path, i), sc.Items, item)...)
		}
	case "string":
		if _, ok := v.(string); !ok {
			errs = append(errs, fmt.Sprintf("%s: want string, got %T", path, v))
		}
	case "integer":
		if f, ok := v.(float64); !ok || f != float64(int64(f)) {
			errs = append(errs, fmt.Sprintf("%s: want integer, got %v", path, v))
		}
	case "number":
		if _, ok := v.(float64); !ok {
			errs = append(errs, fmt.Sprintf("%s: want number, got %T", path, v))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			errs = append(errs, fmt.Sprintf("%s: want boolean, got %T", path, v))
		}
	}
	return errs
}
