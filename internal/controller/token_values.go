package controller

import (
	"strings"
	"sync"
)

// valueMemory remembers token values this process read from Falcon, so an edited Secret is
// recognised and restored without another API call, and so that no message the operator writes
// can carry one (redact). The manager's Secret cache holds the same values, so this adds no
// exposure.
type valueMemory struct {
	mu     sync.Mutex
	values map[string]string // by token ID
}

func newValueMemory() *valueMemory { return &valueMemory{values: map[string]string{}} }

func (m *valueMemory) get(id string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.values[id]
}

func (m *valueMemory) set(id, value string) {
	if value == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.values[id] = value
}

func (m *valueMemory) forget(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.values, id)
}

// redact replaces every known token value in text. It runs on failure messages only.
func (m *valueMemory) redact(text string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, value := range m.values {
		if strings.Contains(text, value) {
			text = strings.ReplaceAll(text, value, "[redacted]")
		}
	}
	return text
}
